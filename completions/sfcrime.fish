# fish completion for sfcrime. Install: copy to ~/.config/fish/completions/sfcrime.fish (or
# /usr/share/fish/vendor_completions.d/). Keep it in step with each command's --help.

set -l topic_subcommands create list describe delete

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
complete -c $c -n $produce -l limit -x -d 'stop after reading N records'
complete -c $c -n $produce -l rate -x -d 'send at most N records per second'

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
complete -c $c -n $aggregate -s w -l window -x -a '30m 1h 1d' -d 'window length (default 30m)'
complete -c $c -n $aggregate -l from-beginning -d 'start at the earliest offset'
complete -c $c -n $aggregate -s e -l exit-at-end -d 'print the answer and exit at the end of every partition'
complete -c $c -n $aggregate -s g -l group -x -d 'consumer group id (share partitions)'
complete -c $c -n $aggregate -s o -l output -x -a 'table json' -d 'output format (default table)'
complete -c $c -n $aggregate -l radio-codes -r -F -d 'radio_code.json with disposition descriptions'

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
complete -c $c -n '__sfcrime_topic_sub describe' -s o -l output -x -a 'table json' -d 'output format (default table)'

complete -c $c -n '__sfcrime_topic_sub delete' -l name -x -d 'topic name'
complete -c $c -n '__sfcrime_topic_sub delete' -l if-exists -d 'succeed without change when the topic does not exist'
