#!/bin/sh
# The image's entrypoint: hands the master key to the vault's user, then runs the command as it.
#
# Under plain `docker compose` (not swarm) a file secret is a bind mount of the host file with
# the host's owner and mode: the `uid` and `mode` of a service's secret are ignored, and a key
# file kept 0600 by root on the host cannot be read by uid 10001. So the container starts as
# root, copies the secret (VAULT_MASTER_KEY_SECRET) to VAULT_MASTER_KEY_FILE on a tmpfs, owned
# by the vault user and 0600 (the vault refuses a key file others can read), and drops to that
# user with setpriv: no capabilities, no new privileges. Started as another user already
# (`docker run --user 10001`), it only runs the command.
#
# Every path and the user can be overridden, which is how tests run this file without Docker.
set -eu

user=${VAULT_RUN_AS:-vault}
secret=${VAULT_MASTER_KEY_SECRET:-}
key_file=${VAULT_MASTER_KEY_FILE:-}
data_dir=${VAULT_DATA_DIR:-}

say() { echo "vault-entrypoint: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
    exec "$@"
fi

uid=$(id -u "$user")
gid=$(id -g "$user")

if [ -n "$secret" ]; then
    if [ -z "$key_file" ] || [ "$key_file" = "$secret" ]; then
        say "set VAULT_MASTER_KEY_FILE to where the copy of $secret goes (a tmpfs)"
        exit 1
    fi
    if [ ! -f "$secret" ]; then
        say "the master key secret $secret is missing; create it with \`vault keys init --file secrets/master.key\`"
        exit 1
    fi
    key_dir=$(dirname "$key_file")
    mkdir -p "$key_dir"
    chown "$uid:$gid" "$key_dir"
    chmod 0700 "$key_dir"
    # Written 0600 from the first byte, then renamed over any copy of an earlier start.
    (umask 077 && cp "$secret" "$key_file.new")
    chown "$uid:$gid" "$key_file.new"
    mv -f "$key_file.new" "$key_file"
fi

# A named volume is created from the image's directory (owned by the vault user); a bind
# mount or an old volume may be root's.
if [ -n "$data_dir" ] && [ -d "$data_dir" ] && [ "$(stat -c %u "$data_dir")" != "$uid" ]; then
    chown "$uid:$gid" "$data_dir"
    chmod 0700 "$data_dir"
fi

exec setpriv --reuid="$uid" --regid="$gid" --init-groups --inh-caps=-all --bounding-set=-all \
    --no-new-privs -- "$@"
