# fish completion for sfcrime. Install: copy to ~/.config/fish/completions/sfcrime.fish (or
# /usr/share/fish/vendor_completions.d/). Keep it in step with each command's --help.

set -l topic_subcommands create list describe delete
# The 14 fields of a record.
set -l fields crime_id original_crime_type_name report_date call_date offense_date call_time call_date_time \
    disposition address city state agency_id address_type common_location

# True when no command word was typed yet.
function __sfcrime_no_command
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case -b --bootstrap-servers -X --property --config --config-file --timeout
                set skip 1
            case '-*'
            case '*'
                return 1
        end
    end
    return 0
end

# True when the words typed so far are `topic SUB` for one of the given SUBs.
function __sfcrime_topic_sub
    set -l words (commandline -opc)
    contains -- topic $words; or return 1
    for sub in $argv
        contains -- $sub $words; and return 0
    end
    return 1
end

# The given field names, each after what the current token holds up to its last comma (for
# --by FIELD[,FIELD...]).
function __sfcrime_field_list
    set -l done (commandline -ct | string replace -r -- '^--by=' '' | string replace -r -- '[^,]*$' '')
    for f in $argv
        echo $done$f
    end
end

set -l c sfcrime
complete -c $c -f

# Command words.
complete -c $c -n __sfcrime_no_command -a produce -d 'send records from a JSON array or NDJSON file to a topic'
complete -c $c -n __sfcrime_no_command -a consume -d "print a topic's message values, one per line"
complete -c $c -n __sfcrime_no_command -a aggregate -d 'count crime types and usual dispositions per event-time window'
complete -c $c -n __sfcrime_no_command -a topic -d 'create, list, describe or delete topics'
complete -c $c -n __sfcrime_no_command -a inspect -d 'show brokers, topics, partitions and offsets'
complete -c $c -n __sfcrime_no_command -a help -d 'show help for sfcrime or for one command'
complete -c $c -n __sfcrime_no_command -s V -l version -d 'print the versions and exit'
complete -c $c -n '__fish_seen_subcommand_from help' -a 'produce consume aggregate topic inspect'

# Shared options (every command, and before the command word). After `topic create`, --config is a
# topic config KEY=VALUE (below), so the config-file form of --config is offered everywhere else.
complete -c $c -n 'not __sfcrime_topic_sub create' -l config -r -F -d 'key=value config file (env SFCRIME_CONFIG)'
complete -c $c -l config-file -r -F -d 'key=value config file, the same as --config'
complete -c $c -s b -l bootstrap-servers -x -d 'brokers to connect to (default localhost:9092)'
complete -c $c -s X -l property -x -a dump -d 'librdkafka property KEY=VALUE; dump shows the configuration'
complete -c $c -l timeout -x -a '10s 30s 1m' -d 'bound on every wait for the broker (default 10s)'
complete -c $c -s v -l verbose -d 'more diagnostics on stderr (repeat: -vv)'
complete -c $c -s h -l help -d 'show the help'

# produce
set -l produce '__fish_seen_subcommand_from produce'
complete -c $c -n $produce -s t -l topic -x -d 'topic to send to (must exist)'
complete -c $c -n $produce -s f -l file -r -F -d "input file, '-' for standard input (default)"
complete -c $c -n $produce -l key -x -a 'crime_id original_crime_type_name call_date_time disposition address' -d 'field whose value is the message key'
complete -c $c -n $produce -l skip -x -d 'pass over the first N records of the input'
complete -c $c -n $produce -l limit -x -d 'stop after reading N records'
complete -c $c -n $produce -l rate -x -d 'send at most N records per second'
complete -c $c -n $produce -l order -x -a 'file\t"input order (default)" event-time\t"ascending call_date_time, sorted on disk under \$TMPDIR"' -d 'send order'
complete -c $c -n $produce -l speedup -x -a '60 3600 86400' -d 'replay in event time: X seconds of event time per second'
complete -c $c -n $produce -l dead-letter-topic -x -d 'send every rejected record to this topic'
complete -c $c -n $produce -l dead-letter-file -r -F -d 'write every rejected record to this NDJSON file (truncated at start)'
complete -c $c -n $produce -l failed-file -r -F -d 'write every record not delivered to this NDJSON file, to resume from'

# consume
set -l consume '__fish_seen_subcommand_from consume'
complete -c $c -n $consume -s t -l topic -x -d 'topic to read'
complete -c $c -n $consume -l from-beginning -d 'start at the earliest offset'
complete -c $c -n $consume -s g -l group -x -d 'consumer group id'
complete -c $c -n $consume -l max-messages -x -d 'exit after printing N messages'
complete -c $c -n $consume -s e -l exit-at-end -d 'exit when the end of every partition is reached'

# aggregate
set -l aggregate '__fish_seen_subcommand_from aggregate'
complete -c $c -n $aggregate -s t -l topic -x -d 'topic to read'
complete -c $c -n $aggregate -s f -l file -r -F -d "read a JSON array or NDJSON file, '-' for standard input (no broker)"
complete -c $c -n $aggregate -s w -l window -x -a '30m 1h 1d' -d 'window length (default 30m)'
complete -c $c -n $aggregate -l slide -x -a '5m 15m 30m' -d 'start a window every D: hopping windows'
complete -c $c -n $aggregate -l time-field -x -a 'call_date_time report_date call_date offense_date' -d 'field with the event time (default call_date_time)'
complete -c $c -n $aggregate -l watermark -x -a '10m 1h 1d' -d 'allowed delay behind the largest event time (default 1h)'
complete -c $c -n $aggregate -l output-mode -x -a 'append\t"each window once, when it closes" update\t"the rows changed in the batch" complete\t"every row of every window"' -d 'rows written per batch (default append)'
complete -c $c -n $aggregate -l trigger -x -a '1s 10s 1m' -d 'start a micro-batch every D of processing time'
complete -c $c -n $aggregate -l max-records-per-trigger -x -d 'at most N messages per micro-batch'
complete -c $c -n $aggregate -l by -x -a "(__sfcrime_field_list $fields)" -d 'group by these fields, comma-separated (default original_crime_type_name)'
complete -c $c -n $aggregate -l top -x -d 'only the K largest rows of each window'
# FIELD=VALUE[,VALUE...]: the field and '=' (fish adds no space after '='); the values are the user's.
complete -c $c -n $aggregate -l filter -x -a (string join ' ' -- $fields=) -d 'keep records whose FIELD is one of the values'
complete -c $c -n $aggregate -s o -l output -x -a 'table json csv' -d 'output format (default table)'
complete -c $c -n $aggregate -l output-topic -x -d 'send each row to this topic'
complete -c $c -n $aggregate -l late-topic -x -d 'send late records to this topic'
complete -c $c -n $aggregate -l progress -x -a 'auto text json none' -d 'progress reports on stderr (default auto)'
complete -c $c -n $aggregate -l radio-codes -r -F -d 'radio_code.json with disposition descriptions'
complete -c $c -n $aggregate -l from-beginning -d 'start at the earliest offset'
complete -c $c -n $aggregate -s e -l exit-at-end -d 'close every window and exit at the end of every partition'
complete -c $c -n $aggregate -s g -l group -x -d 'consumer group id (share partitions)'
complete -c $c -n $aggregate -l exactly-once -d 'one transaction per batch, state restored on start (needs --group)'
complete -c $c -n $aggregate -l scale-out -d 'exactly once, shared by every process of the group (needs --group)'
complete -c $c -n $aggregate -l max-idle -x -a '2s 10s 1m' -d 'how long an idle partition is waited for (default 2s)'

# inspect
set -l inspect '__fish_seen_subcommand_from inspect'
complete -c $c -n $inspect -s t -l topic -x -d 'show only this topic'
complete -c $c -n $inspect -l all -d 'include internal topics such as __consumer_offsets'
complete -c $c -n $inspect -s o -l output -x -a 'table json' -d 'output format (default table)'

# topic and its subcommands
complete -c $c -n "__fish_seen_subcommand_from topic; and not __fish_seen_subcommand_from $topic_subcommands" -a create -d 'create a topic'
complete -c $c -n "__fish_seen_subcommand_from topic; and not __fish_seen_subcommand_from $topic_subcommands" -a list -d 'list topics with partition counts and replication factors'
complete -c $c -n "__fish_seen_subcommand_from topic; and not __fish_seen_subcommand_from $topic_subcommands" -a describe -d 'partitions, leaders, replicas and offsets of one topic'
complete -c $c -n "__fish_seen_subcommand_from topic; and not __fish_seen_subcommand_from $topic_subcommands" -a delete -d 'delete a topic'

complete -c $c -n '__sfcrime_topic_sub create' -l name -x -d 'topic name'
complete -c $c -n '__sfcrime_topic_sub create' -s p -l partitions -x -d 'number of partitions (default 1)'
complete -c $c -n '__sfcrime_topic_sub create' -s r -l replication-factor -x -d 'replicas per partition (default 1)'
complete -c $c -n '__sfcrime_topic_sub create' -s c -l config -x -d 'topic configuration KEY=VALUE, repeatable'
complete -c $c -n '__sfcrime_topic_sub create' -l if-not-exists -d 'succeed without change when the topic exists'

complete -c $c -n '__sfcrime_topic_sub list' -l all -d 'include internal topics such as __consumer_offsets'
complete -c $c -n '__sfcrime_topic_sub describe' -l name -x -d 'topic name'
complete -c $c -n '__sfcrime_topic_sub describe' -s o -l output -x -a 'table json' -d 'output format (default table)'

complete -c $c -n '__sfcrime_topic_sub delete' -l name -x -d 'topic name'
complete -c $c -n '__sfcrime_topic_sub delete' -l if-exists -d 'succeed without change when the topic does not exist'
