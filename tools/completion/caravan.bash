# bash completion for caravan(1). Installed as
# /usr/share/bash-completion/completions/caravan (loaded on demand by the
# bash-completion package), or source it from ~/.bashrc.
#
# Subcommands and options are listed here (tests/packaging/completion_test.sh
# checks them against `caravan --help`); peer names and countries come from
# the running node (`caravan peers list --json`), asked only when one is
# completed, with a short timeout so a stopped daemon never hangs the shell.
# Self-contained: needs no helper of the bash-completion package.

# _caravan_peer_field FIELD: that field ("name", "country") of every peer
# of the node, one a line.
_caravan_peer_field() {
  # The config the command line names, if any, so the right node is asked.
  local -a cfg=()
  local i
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    if [[ ${COMP_WORDS[i]} == --config ]]; then
      cfg=(--config "${COMP_WORDS[i + 1]}")
    fi
  done
  # One JSON document: pull out the fields without needing jq.
  caravan "${cfg[@]}" --timeout 2s peers list --json 2>/dev/null |
    grep -o "\"$1\"[[:space:]]*:[[:space:]]*\"[^\"]*\"" |
    sed 's/.*:[[:space:]]*"\(.*\)"/\1/' | sort -u
}
_caravan_peer_names() { _caravan_peer_field name; }
_caravan_peer_countries() { _caravan_peer_field country; }

_caravan() {
  local cur prev
  cur=${COMP_WORDS[COMP_CWORD]}
  prev=${COMP_WORDS[COMP_CWORD - 1]}
  COMPREPLY=()

  local global_opts="--config --json --timeout --version --help"
  local commands="init key status submit query show revoke sight audit report export policy peers quarantine help"
  local types="ipv4 ipv6 domain url email md5 sha1 sha256 cve asn"
  local tlps="clear green amber amber+strict red"

  # The command and its verb: the first two words that are not options or
  # values of options.
  local cmd="" verb="" i w
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    case $w in
      --config | --timeout) ((i++)); continue ;;
      -*) continue ;;
    esac
    if [[ -z $cmd ]]; then
      cmd=$w
    elif [[ -z $verb ]]; then
      verb=$w
      break
    fi
  done

  # Values of options.
  case $prev in
    --config | --file | --output | --encrypted | --passphrase-file)
      COMPREPLY=($(compgen -f -- "$cur"))
      return 0
      ;;
    --type) COMPREPLY=($(compgen -W "$types" -- "$cur")); return 0 ;;
    --tlp | --max-tlp) COMPREPLY=($(compgen -W "$tlps" -- "$cur")); return 0 ;;
    --reshare) COMPREPLY=($(compgen -W "none direct federation" -- "$cur")); return 0 ;;
    --format)
      if [[ $cmd == export ]]; then
        COMPREPLY=($(compgen -W "csv plain txt jsonl stix misp" -- "$cur"))
      else
        COMPREPLY=($(compgen -W "txt csv jsonl stix misp" -- "$cur"))
      fi
      return 0
      ;;
    --peer | --via)
      COMPREPLY=($(compgen -W "$(_caravan_peer_names)" -- "$cur"))
      return 0
      ;;
    --to | --from | --origin)
      # Countries the node has peers in; any other code may be typed.
      COMPREPLY=($(compgen -W "$(_caravan_peer_countries)" -- "$cur"))
      return 0
      ;;
    --timeout | --confidence | --tag | --description | --valid-until | \
    --since | --cidr | --limit | --reason | --note | --name | --country | \
    --key | --endpoint | --peer-listen | --taxii-listen | --control | \
    --after-seq | --after | --until | --action | --id | --value)
      return 0  # free text: nothing to offer
      ;;
  esac

  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then
      COMPREPLY=($(compgen -W "$global_opts" -- "$cur"))
    else
      COMPREPLY=($(compgen -W "$commands" -- "$cur"))
    fi
    return 0
  fi

  local context="--tlp --confidence --tag --description --valid-until --reshare"
  local verbs="" opts=""
  case $cmd in
    init) opts="--name --country --peer-listen --taxii-listen --control" ;;
    key)
      verbs="show rotate compromised export import"
      [[ $verb == show ]] && opts="--invite"
      [[ $verb == rotate ]] && opts="--link"
      [[ $verb == compromised ]] && opts="--since --key"
      [[ $verb == export ]] && opts="--encrypted --passphrase-file"
      [[ $verb == import ]] && opts="--passphrase-file --force"
      ;;
    status) ;;
    submit)
      opts="--file --format --type --print-ids --force --replace $context"
      # submit TYPE VALUE: the first word is a type, the value is free.
      if [[ $cur != -* && -z $verb ]]; then
        COMPREPLY=($(compgen -W "$types" -- "$cur"))
        return 0
      fi
      ;;
    query) opts="--type --origin --tag --since --cidr --include-revoked --limit --after" ;;
    show) ;;
    revoke) opts="--reason --value" ;;
    sight) opts="--note" ;;
    audit)
      verbs="verify"
      opts="--since --until --peer --action --id --after-seq --limit"
      ;;
    report) opts="--since --until --html" ;;
    export) opts="--format --output --type --max-tlp --origin --tag --since --include-revoked --include-removed" ;;
    policy)
      verbs="check reload explain"
      [[ $verb == explain ]] && opts="--to --from $context"
      if [[ $verb == explain && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "$types" -- "$cur"))
        return 0
      fi
      if [[ $verb == check && $cur != -* ]]; then
        COMPREPLY=($(compgen -d -- "$cur"))
        return 0
      fi
      ;;
    peers)
      verbs="list add remove compromised"
      [[ $verb == add ]] && opts="--country --key --endpoint --via"
      [[ $verb == remove ]] && opts="--purge --yes"
      [[ $verb == compromised ]] && opts="--since"
      if [[ ($verb == remove || $verb == compromised) && $cur != -* ]]; then
        COMPREPLY=($(compgen -W "$(_caravan_peer_names)" -- "$cur"))
        return 0
      fi
      ;;
    quarantine)
      verbs="list approve reject"
      [[ $verb == approve || $verb == reject ]] && opts="--all --from"
      ;;
    help) verbs=$commands ;;
    *) return 0 ;;
  esac

  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$opts $global_opts" -- "$cur"))
  elif [[ -n $verbs && -z $verb ]]; then
    COMPREPLY=($(compgen -W "$verbs" -- "$cur"))
  fi
  return 0
}

complete -F _caravan caravan

# caravand(8): its few options, and files for the ones that take a path.
_caravand() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
  case $prev in
    --config) COMPREPLY=($(compgen -f -- "$cur")); return 0 ;;
    --check-policy) COMPREPLY=($(compgen -d -- "$cur")); return 0 ;;
  esac
  COMPREPLY=($(compgen -W "--config --check-policy --json --init-only --version --help" -- "$cur"))
}
complete -F _caravand caravand
