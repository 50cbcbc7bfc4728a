# bash completion for sfcrime                                    -*- shell-script -*-
#
# Install: copy to /usr/share/bash-completion/completions/sfcrime (or source it from ~/.bashrc).
# Works with or without the bash-completion package. Keep the option lists in step with each
# command's --help (tests/cli/test_docs.py checks that every long option appears here, in the zsh
# and fish completions and in the man page).

# Options that take a value in the next word, for every command and before the command word.
_sfcrime_shared_value_opts="-b --bootstrap-servers -X --property --config --config-file --timeout"
_sfcrime_shared_opts="--config --config-file -b --bootstrap-servers -X --property --timeout -v --verbose -h --help"
_sfcrime_global_opts="$_sfcrime_shared_opts -V --version"
_sfcrime_commands="produce consume aggregate topic inspect help"
_sfcrime_topic_subcommands="create list describe delete"
# The 14 fields of a record (for --key, --by, --filter, --time-field).
_sfcrime_fields="crime_id original_crime_type_name report_date call_date offense_date call_time call_date_time disposition address city state agency_id address_type common_location"

# The command's own options that take a value (so that their value is not taken for a word).
_sfcrime_value_opts() {
    case $1 in
        produce)
            echo "-t --topic -f --file --key --skip --limit --rate --order --speedup --dead-letter-topic" \
                "--dead-letter-file --failed-file" ;;
        consume) echo "-t --topic -g --group --max-messages" ;;
        aggregate)
            echo "-t --topic -f --file -w --window --slide --time-field --watermark --output-mode --trigger" \
                "--max-records-per-trigger --by --top --filter -o --output --output-topic --late-topic" \
                "--progress --radio-codes -g --group --max-idle" ;;
        inspect) echo "-t --topic -o --output" ;;
        "topic create") echo "--name -p --partitions -r --replication-factor -c --config" ;;
        "topic describe") echo "--name -o --output" ;;
        "topic delete") echo "--name" ;;
    esac
}

# Every option of a command (its own, then the shared ones).
_sfcrime_opts() {
    case $1 in
        produce)
            echo "-t --topic -f --file --key --skip --limit --rate --order --speedup --dead-letter-topic" \
                "--dead-letter-file --failed-file $_sfcrime_shared_opts" ;;
        consume) echo "-t --topic --from-beginning -g --group --max-messages -e --exit-at-end $_sfcrime_shared_opts" ;;
        aggregate)
            echo "-t --topic -f --file -w --window --slide --time-field --watermark --output-mode --trigger" \
                "--max-records-per-trigger --by --top --filter -o --output --output-topic --late-topic" \
                "--progress --radio-codes --from-beginning -e --exit-at-end -g --group --exactly-once --scale-out --max-idle" \
                "$_sfcrime_shared_opts" ;;
        inspect) echo "-t --topic --all -o --output $_sfcrime_shared_opts" ;;
        topic) echo "-h --help" ;;
        # After `topic create`, --config/-c is a topic config KEY=VALUE; the config file is --config-file.
        "topic create")
            echo "--name -p --partitions -r --replication-factor -c --config --if-not-exists --config-file -b --bootstrap-servers -X --property --timeout -v --verbose -h --help" ;;
        "topic list") echo "--all $_sfcrime_shared_opts" ;;
        "topic describe") echo "--name -o --output $_sfcrime_shared_opts" ;;
        "topic delete") echo "--name --if-exists $_sfcrime_shared_opts" ;;
        help) echo "" ;;
    esac
}

_sfcrime_files() {
    # Complete file names, marking directories; keeps working without bash-completion's _filedir.
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$1"))
}

_sfcrime() {
    local cur prev cword
    cword=$COMP_CWORD
    cur=${COMP_WORDS[cword]}
    prev=${COMP_WORDS[cword - 1]}
    # --option=value: bash splits at '=' (COMP_WORDBREAKS), leaving "--option" "=" "value".
    if [[ $cur == "=" ]]; then
        prev=${COMP_WORDS[cword - 1]}
        cur=""
    elif [[ $prev == "=" ]] && ((cword >= 2)); then
        prev=${COMP_WORDS[cword - 2]}
    fi

    # Find the command word (and the topic subcommand) before the cursor.
    local cmd="" sub="" i w skip=0 value_opts=$_sfcrime_shared_value_opts
    for ((i = 1; i < cword; i++)); do
        w=${COMP_WORDS[i]}
        if ((skip)); then
            skip=0
            continue
        fi
        [[ $w == "=" ]] && { skip=1; continue; }
        if [[ $w == -* ]]; then
            [[ " $value_opts " == *" $w "* && ${COMP_WORDS[i + 1]} != "=" ]] && skip=1
            continue
        fi
        if [[ -z $cmd ]]; then
            cmd=$w
            value_opts="$_sfcrime_shared_value_opts $(_sfcrime_value_opts "$cmd")"
        elif [[ $cmd == topic && -z $sub ]]; then
            sub=$w
            value_opts="$_sfcrime_shared_value_opts $(_sfcrime_value_opts "topic $sub")"
        fi
    done
    local ctx=$cmd
    [[ $cmd == topic && -n $sub ]] && ctx="topic $sub"

    # The value of the option before the cursor.
    case $prev in
        -f | --file)
            _sfcrime_files "$cur"
            [[ -z $cur || $cur == - ]] && COMPREPLY+=("-")
            return ;;
        --config)
            # topic create: --config KEY=VALUE (a topic config), not a file.
            [[ $ctx == "topic create" ]] && return
            _sfcrime_files "$cur"
            return ;;
        -c)
            [[ $ctx == "topic create" ]] && return ;;
        --config-file | --radio-codes | --dead-letter-file | --failed-file)
            _sfcrime_files "$cur"
            return ;;
        -o | --output)
            if [[ $ctx == aggregate ]]; then
                COMPREPLY=($(compgen -W "table json csv" -- "$cur"))
            else
                COMPREPLY=($(compgen -W "table json" -- "$cur"))
            fi
            return ;;
        --output-mode)
            COMPREPLY=($(compgen -W "append update complete" -- "$cur"))
            return ;;
        --progress)
            COMPREPLY=($(compgen -W "auto text json none" -- "$cur"))
            return ;;
        --order)
            COMPREPLY=($(compgen -W "file event-time" -- "$cur"))
            return ;;
        --speedup)
            COMPREPLY=($(compgen -W "60 3600 86400" -- "$cur"))
            return ;;
        --slide)
            COMPREPLY=($(compgen -W "5m 15m 30m" -- "$cur"))
            return ;;
        --watermark)
            COMPREPLY=($(compgen -W "10m 1h 1d" -- "$cur"))
            return ;;
        --trigger)
            COMPREPLY=($(compgen -W "1s 10s 1m" -- "$cur"))
            return ;;
        --max-idle)
            COMPREPLY=($(compgen -W "2s 10s 1m" -- "$cur"))
            return ;;
        --time-field)
            COMPREPLY=($(compgen -W "call_date_time report_date call_date offense_date" -- "$cur"))
            return ;;
        --by)
            # A comma-separated list: complete the field after the last comma.
            local done_fields=""
            [[ $cur == *,* ]] && done_fields=${cur%,*},
            COMPREPLY=($(compgen -P "$done_fields" -W "$_sfcrime_fields" -- "${cur##*,}"))
            return ;;
        --filter)
            # FIELD=VALUE[,VALUE...]: the field, then '=' (bash splits the word there, so once the
            # '=' is typed the values are left to the user).
            COMPREPLY=($(compgen -S = -W "$_sfcrime_fields" -- "$cur"))
            compopt -o nospace 2>/dev/null
            return ;;
        -X | --property)
            COMPREPLY=($(compgen -W "dump" -- "$cur"))
            return ;;
        -w | --window)
            COMPREPLY=($(compgen -W "30m 1h 1d" -- "$cur"))
            return ;;
        --timeout)
            COMPREPLY=($(compgen -W "10s 30s 1m" -- "$cur"))
            return ;;
        --key)
            COMPREPLY=($(compgen -W "$_sfcrime_fields" -- "$cur"))
            return ;;
        -b | --bootstrap-servers | -t | --topic | -g | --group | --limit | --rate | --max-messages | \
            --name | -p | --partitions | -r | --replication-factor | --top | --max-records-per-trigger | \
            --output-topic | --late-topic | --skip | --dead-letter-topic)
            return ;;
    esac

    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$_sfcrime_global_opts" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$_sfcrime_commands" -- "$cur"))
        fi
        return
    fi

    case $cmd in
        help)
            [[ $cword -gt 0 && ${COMP_WORDS[cword - 1]} == help ]] &&
                COMPREPLY=($(compgen -W "produce consume aggregate topic inspect" -- "$cur"))
            return ;;
        topic)
            if [[ -z $sub && $cur != -* ]]; then
                COMPREPLY=($(compgen -W "$_sfcrime_topic_subcommands" -- "$cur"))
                return
            fi ;;
        produce | consume | aggregate | inspect) ;;
        *) return ;;
    esac

    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_sfcrime_opts "$ctx")" -- "$cur"))
    fi
}

complete -F _sfcrime sfcrime
