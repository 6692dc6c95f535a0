#!/usr/bin/env bash
# tests/e2e/storage-dir.test.sh - tests/e2e/storage.test.sh again with
# `--storage-backend dir`: volumes are plain directories, snapshots,
# restores and clones are copies (see the header of storage.test.sh for
# what this run leaves out).
STORAGE_BACKEND=dir exec bash "$(dirname "$0")/storage.test.sh"
