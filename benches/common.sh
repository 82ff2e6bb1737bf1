# Shared by the load scripts: sourced, not run.

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# need COMMAND[:PACKAGE]...: installs each Debian package whose command is missing.
need() {
  local item tool package
  for item in "$@"; do
    tool=${item%%:*}
    package=${item#*:}
    command -v "$tool" >/dev/null 2>&1 || { as_root apt-get update -qq; as_root apt-get install -y -qq "$package" >/dev/null; }
  done
}

# The access token of the seed's user, from the demo on $HOST.
token() {
  curl -s -X POST "$HOST/api/rest/signin" --form login=john.doe@email.org --form 'password=#thePassword1234!' \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["accessToken"])'
}
