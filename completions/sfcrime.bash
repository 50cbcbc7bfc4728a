# bash completion for sfcrime                                    -*- shell-script -*-
#
# Installed as share/bash-completion/completions/sfcrime (cmake --install, the .deb), where the
# bash-completion package loads it on first use; or source it from ~/.bashrc. Works with or
# without bash-completion.
#
# Topic names and consumer group ids come live from the cluster: the completion runs the hidden
# `sfcrime __complete topics|groups` (as git's completion asks git itself), passing on the -b,
# -X, --config, --profile and --timeout already on the command line. That helper waits at most
# 2 s (unless --timeout is typed), prints nothing on failure and never writes to the terminal.
#
# Keep the tables below in step with each command's --help (tests/cli/test_docs.py checks that
# every long option appears here, in the zsh and fish completions and in the man page).
# Adding an option is one line in its command's table in _sfcrime_spec; a command word is one
# entry in _sfcrime_commands (and a table); a subcommand one word in _sfcrime_subcommands.

_sfcrime_commands="produce consume aggregate topic group inspect config help"

# The subcommands of a command word (inspect's `group` is optional: `inspect group GROUP`).
_sfcrime_subcommands() {
    case $1 in
        topic) echo "create list describe delete alter-config add-partitions produce consume" ;;
        group) echo "list describe delete seek" ;;
        config) echo "show profiles path" ;;
        inspect) echo "group" ;;
    esac
}

# What the operands (bare words after the command and subcommand) are: topic / group (one) or
# topics / groups (several); nothing offered otherwise.
_sfcrime_operands() {
    case $1 in
        "topic describe" | "topic alter-config" | "topic add-partitions" | produce | consume) echo topic ;;
        "topic delete") echo topics ;;
        "group seek" | "inspect group") echo group ;;
        "group describe" | "group delete") echo groups ;;
    esac
}

# The options of a command, one line each: the option's names, then what its value is (no
# value: a switch).
#   =          a free value (nothing offered)         =a,b,c    one of these words
#   =topic     a live topic name                      =topics   comma-separated live topic names
#   =group     a live consumer group id               =profile  a profile of the config file
#   =file      a file name                            =input    a file name or '-' (stdin)
#   =field     a record field                         =fields   comma-separated record fields
#   =filter    FIELD= (the values are the user's)
# The shared options (every command, and before the command word) come after the command's own;
# a name the command defines itself keeps the command's meaning (topic create's --config).
_sfcrime_spec() {
    case $1 in
        shared) echo '
            --config =file
            --config-file =file
            --profile =profile
            -b --bootstrap-servers =
            -X --property =dump
            --timeout =10s,30s,1m
            -v --verbose
            -h --help' ;;
        "") echo '
            -V --version' ;;
        produce) echo '
            -t --topic =topic
            -f --file =input
            --key =field
            --skip =
            --limit =
            --rate =
            --order =file,event-time
            --speedup =60,3600,86400
            --dead-letter-topic =topic
            --dead-letter-file =file
            --failed-file =file
            -H --header =
            -z --compression =none,gzip,snappy,lz4,zstd
            --partitioner =murmur2_random,murmur2,consistent,consistent_random,fnv1a,fnv1a_random,random
            --progress =auto,bar,none
            --input-format =record,envelope
            --keep-partition' ;;
        consume) echo '
            -t --topic =topic
            -o --offset =beginning,end
            --from-beginning
            -p --partition =
            -g --group =group
            --max-messages =
            -e --exit-at-end
            --format =
            --output =text,json' ;;
        aggregate) echo '
            -t --topic =topic
            -f --file =input
            -w --window =30m,1h,1d
            --slide =5m,15m,30m
            --time-field =call_date_time,report_date,call_date,offense_date
            --watermark =10m,1h,1d
            --output-mode =append,update,complete
            --trigger =1s,10s,1m
            --max-records-per-trigger =
            --by =fields
            --top =
            --filter =filter
            -o --output =table,json,csv
            --output-topic =topic
            --late-topic =topic
            --progress =auto,text,json,none
            --radio-codes =file
            --from-beginning
            -e --exit-at-end
            -g --group =group
            --exactly-once
            --scale-out
            --max-idle =2s,10s,1m' ;;
        inspect) echo '
            -t --topic =topic
            --all
            -o --output =table,json' ;;
        "inspect group") echo '
            -s --print-summary
            -c --print-commits
            -o --output =table,json' ;;
        topic) ;;
        # --config/-c here is a topic config KEY=VALUE; the config file is --config-file.
        "topic create") echo '
            --name =
            -p --partitions =
            -r --replication-factor =
            -c --config =
            --if-not-exists
            -d --dry-run
            -o --output =table,json' ;;
        "topic list") echo '
            --all
            -o --output =table,json' ;;
        "topic describe") echo '
            --name =topic
            -s --print-summary
            -c --print-configs
            -p --print-partitions
            -a --print-all
            -o --output =table,json' ;;
        "topic delete") echo '
            --name =topic
            --if-exists
            -o --output =table,json' ;;
        "topic alter-config") echo '
            --name =topic
            -s --set =
            -d --delete =
            --dry-run
            -o --output =table,json' ;;
        "topic add-partitions") echo '
            --name =topic
            -n --num =
            -d --dry-run
            -o --output =table,json' ;;
        group) ;;
        "group list") echo '
            -o --output =table,json' ;;
        "group describe") echo '
            --group =group
            -s --print-summary
            -c --print-commits
            -o --output =table,json' ;;
        "group delete") echo '
            --group =group
            -o --output =table,json' ;;
        "group seek") echo '
            --group =group
            --to =start,end,earliest,latest
            --topics =topics
            --allow-new-topics
            --dry-run
            -o --output =table,json' ;;
        config) ;;
        "config show") echo '
            -a --all
            -o --output =table,json' ;;
        "config profiles") echo '
            -o --output =table,json' ;;
        "config path") ;;
    esac
}

# The 14 fields of a record (for --key, --by, --filter).
_sfcrime_fields="crime_id original_crime_type_name report_date call_date offense_date call_time call_date_time disposition address city state agency_id address_type common_location"

# Every option name of context $1, the command's own first, then the shared ones; with $2, the
# value kind of option $2 instead: "" for a switch, "=" for a free value, "=KIND" otherwise,
# "?" for an unknown option. The first line naming an option wins.
_sfcrime_lookup() {
    local line w kind names=""
    while read -r line; do
        [[ -n $line ]] || continue
        kind=""
        [[ $line == *" ="* ]] && kind="=${line##* =}"
        for w in ${line%% =*}; do
            if [[ -n ${2-} ]]; then
                [[ $w == "$2" ]] && { echo "$kind"; return; }
            elif [[ " $names " != *" $w "* ]]; then
                names+=" $w"
            fi
        done
    done <<< "$(_sfcrime_spec "$1"; [[ $1 == help ]] || _sfcrime_spec shared)"
    if [[ -n ${2-} ]]; then echo "?"; else echo "$names"; fi
}

# COMP_WORDS with the words bash split at ':' joined again (-b localhost:9092 is one word; bash
# splits at the characters of COMP_WORDBREAKS). Sets _sfcrime_words and _sfcrime_cword. '=' is
# left split: `--option=value` is "--option" "=" "value" (handled below).
_sfcrime_reassemble() {
    _sfcrime_words=()
    _sfcrime_cword=0
    local line=${COMP_LINE-} pos=0 i j=-1 w rest trimmed glue
    for ((i = 0; i < ${#COMP_WORDS[@]}; i++)); do
        w=${COMP_WORDS[i]}
        glue=0
        if [[ -n $line ]]; then
            rest=${line:pos}
            trimmed=${rest#"${rest%%[![:space:]]*}"}
            # No blank before this word and a ':' on either side: one word for the user.
            if ((i > 0 && ${#trimmed} == ${#rest})) && [[ $w == :* || ${_sfcrime_words[j]} == *: ]]; then
                glue=1
            fi
            pos=$((pos + ${#rest} - ${#trimmed} + ${#w}))
        fi
        if ((glue)); then
            _sfcrime_words[j]+=$w
        else
            _sfcrime_words[++j]=$w
        fi
        ((i == COMP_CWORD)) && _sfcrime_cword=$j
    done
}

# Prints the live words `sfcrime __complete $1` answers (topics, groups, profiles), asking the
# sfcrime being completed with the connection options already typed (_sfcrime_conn).
_sfcrime_live() {
    local bin=${_sfcrime_words[0]:-sfcrime}
    [[ $bin == "~/"* ]] && bin=$HOME/${bin#"~/"}
    "$bin" "${_sfcrime_conn[@]}" __complete "$1" 2>/dev/null </dev/null
}

# One word without the quotes the user typed around it ('a b' -> a b), ~/ expanded.
_sfcrime_dequote() {
    local v=$1
    if [[ $v == \'*\' || $v == \"*\" ]]; then v=${v:1:${#v}-2}; fi
    [[ $v == "~/"* ]] && v=$HOME/${v#"~/"}
    printf '%s' "$v"
}

_sfcrime_files() {
    # Complete file names, marking directories; keeps working without bash-completion's _filedir.
    local IFS=$'\n'
    compopt -o filenames 2>/dev/null
    COMPREPLY=($(compgen -f -- "$1"))
}

# Completes the value of kind $1 (from _sfcrime_spec) for the word $2.
_sfcrime_value() {
    local kind=${1#=} cur=$2 done_part=""
    case $kind in
        "") ;;
        topic) COMPREPLY=($(compgen -W "$(_sfcrime_live topics)" -- "$cur")) ;;
        group) COMPREPLY=($(compgen -W "$(_sfcrime_live groups)" -- "$cur")) ;;
        profile) COMPREPLY=($(compgen -W "$(_sfcrime_live profiles)" -- "$cur")) ;;
        topics)
            # A comma-separated list: complete the topic after the last comma.
            [[ $cur == *,* ]] && done_part=${cur%,*},
            COMPREPLY=($(compgen -P "$done_part" -W "$(_sfcrime_live topics)" -- "${cur##*,}")) ;;
        file) _sfcrime_files "$cur" ;;
        input)
            _sfcrime_files "$cur"
            [[ -z $cur || $cur == - ]] && COMPREPLY+=("-") ;;
        field) COMPREPLY=($(compgen -W "$_sfcrime_fields" -- "$cur")) ;;
        fields)
            [[ $cur == *,* ]] && done_part=${cur%,*},
            COMPREPLY=($(compgen -P "$done_part" -W "$_sfcrime_fields" -- "${cur##*,}")) ;;
        filter)
            # FIELD=VALUE[,VALUE...]: the field, then '=' (bash splits the word there, so once the
            # '=' is typed the values are left to the user).
            COMPREPLY=($(compgen -S = -W "$_sfcrime_fields" -- "$cur"))
            compopt -o nospace 2>/dev/null ;;
        *) COMPREPLY=($(compgen -W "${kind//,/ }" -- "$cur")) ;;
    esac
}

_sfcrime() {
    COMPREPLY=()
    local -a _sfcrime_words _sfcrime_conn=()
    local _sfcrime_cword
    _sfcrime_reassemble
    local cword=$_sfcrime_cword
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${_sfcrime_words[cword - 1]}
    # --option=value: bash splits at '=' (COMP_WORDBREAKS), leaving "--option" "=" "value".
    if [[ $cur == "=" ]]; then
        cur=""
    elif [[ $prev == "=" ]] && ((cword >= 2)); then
        prev=${_sfcrime_words[cword - 2]}
    fi

    # The command word, its subcommand and operands before the cursor; the connection options
    # typed so far (passed on to `sfcrime __complete`).
    local cmd="" sub="" ctx="" operands=0 i w kind value
    local subs
    for ((i = 1; i < cword; i++)); do
        w=${_sfcrime_words[i]}
        if [[ $w == -?* ]]; then
            kind=$(_sfcrime_lookup "$ctx" "$w")
            if [[ $kind == =* ]]; then
                # The value: "--opt = value", "-X key = value" (bash splits at '='), "--opt value".
                if [[ ${_sfcrime_words[i + 1]} == "=" ]]; then
                    value=${_sfcrime_words[i + 2]}
                    ((i += 2))
                else
                    value=${_sfcrime_words[i + 1]}
                    ((i += 1))
                    if [[ ${_sfcrime_words[i + 1]} == "=" ]] && ((i + 2 < cword)); then
                        value+="=${_sfcrime_words[i + 2]}"
                        ((i += 2))
                    fi
                fi
                ((i >= cword)) && break  # the value is being typed
                # produce's and consume's topic, given as -t T, is their operand: none more.
                [[ ($w == -t || $w == --topic) && ($ctx == produce || $ctx == consume) ]] && ((operands++))
                case $w in
                    -b | --bootstrap-servers | -X | --property | --config-file | --profile | --timeout | --config)
                        # After `topic create`, --config is a topic config, not the file.
                        [[ $w == --config && $ctx == "topic create" ]] && continue
                        [[ $value == dump ]] && continue
                        _sfcrime_conn+=("$w" "$(_sfcrime_dequote "$value")") ;;
                esac
            elif [[ $w == -b?* || $w == -X?* ]]; then
                _sfcrime_conn+=("$(_sfcrime_dequote "$w")")
            fi
            continue
        fi
        [[ $w == "=" ]] && continue
        subs=$(_sfcrime_subcommands "$cmd")
        if [[ -z $cmd ]]; then
            cmd=$w
            ctx=$w
        elif [[ -z $sub && -n $subs && " $subs " == *" $w "* ]]; then
            sub=$w
            ctx="$cmd $sub"
            # rpk's names: `topic produce` and `topic consume` are produce and consume.
            [[ $ctx == "topic produce" || $ctx == "topic consume" ]] && ctx=$sub
        else
            ((operands++))
        fi
    done

    # The value of the option before the cursor.
    if [[ $prev == -?* ]]; then
        kind=$(_sfcrime_lookup "$ctx" "$prev")
        if [[ $kind == =* ]]; then
            _sfcrime_value "$kind" "$cur"
            return
        fi
    fi

    if [[ $cur == -* ]]; then
        [[ $ctx == help ]] && return
        COMPREPLY=($(compgen -W "$(_sfcrime_lookup "$ctx")" -- "$cur"))
        return
    fi
    if [[ -z $cmd ]]; then
        COMPREPLY=($(compgen -W "$_sfcrime_commands" -- "$cur"))
        return
    fi
    if [[ $cmd == help ]]; then
        ((operands == 0)) && COMPREPLY=($(compgen -W "${_sfcrime_commands% help}" -- "$cur"))
        return
    fi
    subs=$(_sfcrime_subcommands "$cmd")
    if [[ -z $sub && -n $subs ]] && ((operands == 0)); then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return
    fi
    case $(_sfcrime_operands "$ctx") in
        topic) ((operands == 0)) && _sfcrime_value =topic "$cur" ;;
        topics) _sfcrime_value =topic "$cur" ;;
        group) ((operands == 0)) && _sfcrime_value =group "$cur" ;;
        groups) _sfcrime_value =group "$cur" ;;
    esac
}

complete -F _sfcrime sfcrime
