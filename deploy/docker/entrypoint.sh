#!/bin/sh
# The aigw image's entrypoint: the first argument picks the program, the rest
# are its flags (every flag also has an environment variable; see README.md).
#
#   aigw gateway|keypool|usage|admin [flags]   run a service
#   aigw migrate [flags]                       apply the database migrations and exit
#   aigw token [flags]                         mint a bearer token (aigw-token)
#
# exec, so the service is PID 1 and gets SIGTERM itself (it drains in-flight
# calls; see --shutdown_grace).
set -eu
bin_dir="${AIGW_BIN_DIR:-/usr/local/bin}"

usage() {
  cat <<USAGE
usage: aigw <program> [flags...]
programs:
  gateway   the completion pipeline (aigw.v1.ChatService)     gRPC 50051, metrics 9101
  keypool   key leasing and health (aigw.v1.KeyPool)          gRPC 50052, metrics 9102
  usage     call log and usage queries (aigw.v1.UsageService) gRPC 50053, metrics 9103
  admin     providers, keys, models (aigw.v1.AdminService)    gRPC 50054, metrics 9104
  migrate   apply the database migrations and exit (aigw-admin --migrate_only)
  token     mint a bearer token (aigw-token: --jwt_private_key_file, or AIGW_JWT_SECRET)
'aigw <program> --help' lists the program's flags.
USAGE
}

if [ $# -eq 0 ]; then
  usage >&2
  exit 2
fi
program=$1
shift
case "$program" in
  gateway|keypool|usage|admin) exec "$bin_dir/aigw-$program" "$@" ;;
  migrate) exec "$bin_dir/aigw-admin" --migrate_only "$@" ;;
  token) exec "$bin_dir/aigw-token" "$@" ;;
  help|-h|--help) usage; exit 0 ;;
  *)
    echo "aigw: unknown program '$program'" >&2
    usage >&2
    exit 2
    ;;
esac
