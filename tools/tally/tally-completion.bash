# bash completion for the tally command-line tool (installed by `cmake --install` into
# share/bash-completion/completions/tally). Completes subcommands, options, file names
# for the file options (.npy, .npz, .csv, .csv.gz) and metric names for -m/--metric.

_tally_metric_names() {
  # `tally list` prints "    names: a, b" under each metric.
  "${1}" list 2>/dev/null | sed -n 's/^    names: //p' | tr -d ','
}

_tally() {
  local cur prev words cword
  cur="${COMP_WORDS[COMP_CWORD]}"
  prev="${COMP_WORDS[COMP_CWORD-1]}"
  local sub=""
  local i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "${COMP_WORDS[i]}" in
      eval | list | demo) sub="${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z "${sub}" ]]; then
    COMPREPLY=($(compgen -W "eval list demo --version --help" -- "${cur}"))
    return 0
  fi
  case "${sub}" in
    eval)
      case "${prev}" in
        --y-true | --y-pred | --sample-weight | --query | --slice)
          COMPREPLY=($(compgen -f -X '!*.@(npy|npz|csv|csv.gz|NPY|NPZ|CSV)' -- "${cur}") $(compgen -d -- "${cur}"))
          return 0 ;;
        --report)
          COMPREPLY=($(compgen -f -X '!*.html' -- "${cur}") $(compgen -d -- "${cur}"))
          return 0 ;;
        -m | --metric)
          COMPREPLY=($(compgen -W "$(_tally_metric_names "${COMP_WORDS[0]}")" -- "${cur}"))
          return 0 ;;
        --format)
          COMPREPLY=($(compgen -W "table json csv" -- "${cur}"))
          return 0 ;;
        --delimiter)
          COMPREPLY=($(compgen -W "auto tab , ';'" -- "${cur}"))
          return 0 ;;
        --sort-slices)
          COMPREPLY=($(compgen -W "$(_tally_metric_names "${COMP_WORDS[0]}")" -- "${cur}"))
          return 0 ;;
        --batch-size | --threads | --cross | --min-slice-size | --max-slices)
          return 0 ;;
      esac
      COMPREPLY=($(compgen -W "--y-true --y-pred --sample-weight --query --metric -m --from-logits --batch-size --threads
                               --format --delimiter --report --slice --cross --min-slice-size --max-slices
                               --sort-slices --help" -- "${cur}"))
      ;;
    list)
      COMPREPLY=($(compgen -W "--json --help" -- "${cur}")) ;;
    demo)
      case "${prev}" in
        --data-dir | --out-dir)
          COMPREPLY=($(compgen -d -- "${cur}"))
          return 0 ;;
      esac
      COMPREPLY=($(compgen -W "--data-dir --out-dir --help" -- "${cur}")) ;;
  esac
  return 0
}

shopt -s extglob 2>/dev/null
complete -o filenames -F _tally tally
