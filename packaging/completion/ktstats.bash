# bash completion for ktstats and ktstats-relay

_ktstats() {
  local cur prev words cword
  _init_completion 2>/dev/null || {
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD-1]}
    words=("${COMP_WORDS[@]}")
    cword=$COMP_CWORD
  }

  local global="--connect -c --format -f --timeout -t --verbose -v --quiet -q --no-sync --help -h --version"
  case $prev in
    --format|-f)
      mapfile -t COMPREPLY < <(compgen -W "json pretty table openmetrics prometheus" -- "$cur")
      return ;;
    --connect|-c)
      if [[ $cur == vm:* ]]; then
        # The VMs a running `ktstats serve` has sockets for (not its
        # control socket, +control/stats: '+' is in no VM's name).
        local runtime=${KTSTATS_RUNTIME_DIR:-/run/ktstats} socket name names=()
        for socket in "$runtime"/*/stats; do
          name=$(basename "$(dirname "$socket")")
          [[ -S $socket && $name =~ ^[A-Za-z0-9_.-]+$ ]] && names+=("vm:$name")
        done
        mapfile -t COMPREPLY < <(compgen -W "${names[*]}" -- "$cur")
      elif [[ $cur == *:* ]]; then
        local scheme=${cur%%:*} path=${cur#*:}
        mapfile -t COMPREPLY < <(compgen -f -- "$path" | sed "s|^|$scheme:|")
        compopt -o nospace 2>/dev/null
      else
        mapfile -t COMPREPLY < <(compgen -W "unix: pty: tty: pipe: scx: vm:" -- "$cur")
        compopt -o nospace 2>/dev/null
      fi
      return ;;
    --timeout|-t|--interval|-i|--count|-n|--target|--arg)
      return ;;
    --vm|--group|--max-clients|--request-timeout)
      return ;;
    --config|--runtime-dir|--discover|--discover-libvirt)
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
      return ;;
  esac

  local command="" word
  for word in "${words[@]:1:cword-1}"; do
    case $word in
      stats|meta|raw|watch|ping|serve|vms) command=$word; break ;;
    esac
  done

  local options=$global
  case $command in
    "") mapfile -t COMPREPLY < <(compgen -W "stats meta raw watch ping serve vms $global" -- "$cur"); return ;;
    stats) options+=" --target --arg" ;;
    meta) options+=" --describe" ;;
    watch) options+=" --target --arg --interval -i --count -n" ;;
    serve) options="--list --vm --config --discover --discover-libvirt --runtime-dir --group --max-clients
      --request-timeout --verbose -v --quiet -q --help -h" ;;
    vms) options="--runtime-dir --format -f --timeout -t --help -h" ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W "$options" -- "$cur")
}
complete -F _ktstats ktstats

_ktstats_relay() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
  case $prev in
    --port|--socket) mapfile -t COMPREPLY < <(compgen -f -- "$cur"); return ;;
    --log-level) mapfile -t COMPREPLY < <(compgen -W "trace debug info warn error off" -- "$cur"); return ;;
    --log-target) mapfile -t COMPREPLY < <(compgen -W "stderr kmsg" -- "$cur"); return ;;
    --port-name|--port-fd|--response-timeout|--scheduler-wait|--wait-port|--max-sessions) return ;;
  esac
  mapfile -t COMPREPLY < <(compgen -W "--port --port-name --port-fd --socket --response-timeout
    --scheduler-wait --wait-port --max-sessions --log-level --log-target --version --help" -- "$cur")
}
complete -F _ktstats_relay ktstats-relay
