"""Read the data files of an uploaded ZIP in memory, refusing anything a ZIP bomb or a path
trick could use.

Nothing is ever extracted to disk. Before a single byte is decompressed the archive's
central directory is checked (entry count, names, symlinks, encryption, declared sizes and
ratios); while decompressing, the bytes actually produced are counted, so an archive that
lies about its sizes is stopped at the limit, not after it.
"""

from __future__ import annotations

import io
import re
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field

from grader.batches.intake_report import IntakeLimits, Report

DATA_SUFFIXES = (".csv", ".jsonl", ".ndjson")
ARCHIVE_SUFFIXES = (".zip", ".jar", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".7z", ".rar", ".zst")
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_EOCD = b"PK\x05\x06"
_DRIVE = re.compile(r"^[A-Za-z]:")
_READ_CHUNK = 64 * 1024


@dataclass
class ZipMember:
    name: str
    data: bytes = field(repr=False)


def looks_like_zip(data: bytes) -> bool:
    return data[:4] in ZIP_MAGIC


def declared_entry_count(data: bytes) -> int | None:
    """The entry count in the end-of-central-directory record, read without parsing the
    directory itself (so 100 000 entries are refused without building 100 000 objects)."""
    at = data.rfind(_EOCD, max(0, len(data) - 22 - 65_535))
    if at < 0 or at + 22 > len(data):
        return None
    (total,) = struct.unpack_from("<H", data, at + 10)
    return int(total)


def unsafe_name(name: str) -> str | None:
    """Why an entry name may not be accepted, or None. Names are never used as paths here,
    but an archive that tries these tricks is hostile and is refused as a whole."""
    if "\x00" in name:
        return "its name contains a NUL byte"
    path = name.replace("\\", "/")
    if path.startswith("/") or _DRIVE.match(path):
        return "it has an absolute path"
    if ".." in path.split("/"):
        return "its path leaves the archive (`..`)"
    return None


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    # Unix zip tools keep st_mode in the high 16 bits of external_attr.
    return stat.S_ISLNK(info.external_attr >> 16)


def _is_junk(name: str) -> bool:
    """Files that archivers add on their own (macOS resource forks, Finder state)."""
    base = name.rsplit("/", 1)[-1]
    return name.startswith("__MACOSX/") or base == ".DS_Store" or base.startswith("._")


def _check_directory(infos: list[zipfile.ZipInfo], report: Report) -> None:
    """Refuse unsafe names and links before anything is decompressed."""
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        why = unsafe_name(name)
        if why is None and _is_symlink(info):
            why = "it is a symbolic link"
        if why is None and name in seen:
            why = "the archive holds two entries with this name"
        if why is not None:
            report.add(f"archive entry rejected: {why}", source=name)
        seen.add(name)


def _check_entry(info: zipfile.ZipInfo, limits: IntakeLimits, report: Report) -> bool:
    """Declared properties of one data entry; True if it may be decompressed."""
    name, lower = info.filename, info.filename.lower()
    if lower.endswith(ARCHIVE_SUFFIXES):
        report.add(
            "nested archives are not accepted; put the .csv/.jsonl files in one ZIP", source=name
        )
        return False
    if not lower.endswith(DATA_SUFFIXES):
        report.add("unsupported file type (expected .csv, .jsonl or .ndjson)", source=name)
        return False
    if info.flag_bits & 0x1:
        report.add("encrypted entries are not accepted", source=name)
        return False
    if info.file_size > limits.max_bytes:
        report.add(f"the file is larger than {limits.max_bytes} bytes", source=name)
        return False
    ratio = info.file_size / max(info.compress_size, 1)
    if info.file_size > limits.ratio_floor_bytes and ratio > limits.max_ratio:
        report.add(f"compression ratio {ratio:.0f}:1 exceeds {limits.max_ratio:.0f}:1", source=name)
        return False
    return True


def _read_entry(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int, limits: IntakeLimits
) -> bytes:
    """Decompress one entry in chunks, counting real output against every limit.

    Raises `ValueError` with a user-facing message when a limit is hit."""
    parts: list[bytes] = []
    produced = 0
    cap = min(limits.max_bytes, budget)
    with archive.open(info) as stream:
        while chunk := stream.read(_READ_CHUNK):
            if not parts and looks_like_zip(chunk):
                raise ValueError("nested archives are not accepted (the file is a ZIP)")
            produced += len(chunk)
            if produced > budget:
                raise ValueError(
                    f"the archive expands to more than {limits.max_uncompressed_bytes} bytes"
                )
            if produced > cap:
                raise ValueError(f"the file expands to more than {limits.max_bytes} bytes")
            if (
                produced > limits.ratio_floor_bytes
                and produced / max(info.compress_size, 1) > limits.max_ratio
            ):
                raise ValueError(f"compression ratio exceeds {limits.max_ratio:.0f}:1")
            parts.append(chunk)
    return b"".join(parts)


def read_members(
    data: bytes, limits: IntakeLimits, report: Report, source: str = "upload"
) -> list[ZipMember]:
    """The data files of a ZIP, in archive order; problems go to `report`.

    Problems with the archive as a whole are reported against `source` (the upload's name)."""
    too_many = "the archive has {} entries; at most {} are allowed"
    count = declared_entry_count(data)
    if count is not None and count > limits.max_zip_entries:
        report.add(too_many.format(count, limits.max_zip_entries), source)
        return []
    try:
        # BytesIO shares the bytes object's buffer until written to: no copy of the upload.
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        report.add("not a valid ZIP archive", source)
        return []
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            report.add(too_many.format(len(infos), limits.max_zip_entries), source)
            return []
        before = len(report.errors)
        _check_directory(infos, report)
        if len(report.errors) > before:
            return []  # a hostile archive is refused whole, unread
        files = [i for i in infos if not i.is_dir() and not _is_junk(i.filename)]
        wanted = [i for i in files if _check_entry(i, limits, report)]
        if len(report.errors) > before:
            return []
        members: list[ZipMember] = []
        budget = limits.max_uncompressed_bytes
        for info in wanted:
            try:
                content = _read_entry(archive, info, budget, limits)
            except ValueError as exc:
                report.add(str(exc), source=info.filename)
                return []
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
                report.add(f"the entry is corrupt ({type(exc).__name__})", source=info.filename)
                return []
            except (NotImplementedError, RuntimeError):
                report.add("unsupported compression or encryption", source=info.filename)
                return []
            budget -= len(content)
            members.append(ZipMember(info.filename, content))
    if not members:
        report.add("the archive holds no .csv or .jsonl file", source)
    return members
