#!/usr/bin/env python3
"""Zips the files of a folder at the archive root so the same input always gives the same bytes.

    deterministic-zip.py DIR ZIPFILE

Entries are sorted by path, every timestamp is 1980-01-01 00:00:00 (the earliest a ZIP can hold), modes are
0755 for files with an execute bit and 0644 otherwise, and no extra fields (uid/gid, extended timestamps) are
written. Greengrass verifies an artifact's digest on every download, so a version's archive must never change
once uploaded; rebuilding it from the same publish output must give the same digest.
"""
import os
import sys
import zipfile

FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def main(source: str, target: str) -> None:
    paths = []
    for folder, dirs, files in os.walk(source):
        dirs.sort()
        for name in files:
            full = os.path.join(folder, name)
            paths.append((os.path.relpath(full, source).replace(os.sep, "/"), full))
    paths.sort()
    with zipfile.ZipFile(target, "w") as archive:
        for arcname, full in paths:
            info = zipfile.ZipInfo(arcname, date_time=FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # Unix, so the mode below is meaningful
            mode = 0o755 if os.stat(full).st_mode & 0o111 else 0o644
            info.external_attr = (0o100000 | mode) << 16
            with open(full, "rb") as f:
                archive.writestr(info, f.read(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=6)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: deterministic-zip.py DIR ZIPFILE")
    main(sys.argv[1], sys.argv[2])
