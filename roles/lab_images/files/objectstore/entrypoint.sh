#!/bin/sh
# Credentials come from the environment, never from the command line: rclone reads
# RCLONE_AUTH_KEY (its env form of --auth-key; a CSV list, hence the quotes).
set -eu
: "${MINIO_ACCESS_KEY:?MINIO_ACCESS_KEY is required}"
: "${MINIO_SECRET_KEY:?MINIO_SECRET_KEY is required}"
RCLONE_AUTH_KEY="\"${MINIO_ACCESS_KEY},${MINIO_SECRET_KEY}\""
export RCLONE_AUTH_KEY
unset MINIO_SECRET_KEY
mkdir -p "/data/${BUCKET:-artwork-intake}"
exec rclone serve s3 --addr :9000 --dir-cache-time 1s --vfs-cache-mode off /data
