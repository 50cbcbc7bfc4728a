# fish completion for sfcrime. Installed as share/fish/vendor_completions.d/sfcrime.fish (cmake
# --install, the .deb); or copy it to ~/.config/fish/completions/sfcrime.fish.
#
# Topic names and consumer group ids come live from the cluster through the hidden
# `sfcrime __complete topics|groups|profiles` (as git's completion asks git itself), passing on the
# -b, -X, --config, --profile and --timeout already on the command line; it waits at most 2 s and
# prints nothing on failure.
#
# Keep it in step with each command's --help (tests/cli/test_docs.py checks every long option).
# Adding an option is one `complete` line under its command.

set -l commands produce consume aggregate topic group inspect config help
set -l topic_subcommands create list describe delete alter-config add-partitions produce consume
set -l group_subcommands list describe delete seek
set -l config_subcommands show profiles path
# The 14 fields of a record.
set -l fields crime_id original_crime_type_name report_date call_date offense_date call_time call_date_time \
    disposition address city state agency_id address_type common_location

# The bare words typed so far after `sfcrime`: the command word, its subcommand, operands (the
# values of the shared options left out).
function __sfcrime_words
    set -l words (commandline -opc)
    set -e words[1]
    set -l skip 0
    for w in $words
        if test $skip -eq 1
            set skip 0
            continue
        end
        switch $w
            case -b --bootstrap-servers -X --property --config --config-file --profile --timeout
                set skip 1
            case '-*'
            case '*'
                echo $w
        end
    end
end

# True when no command word was typed yet.
function __sfcrime_no_command
    test (count (__sfcrime_words)) -eq 0
end

# True when the command word is $argv[1]; `topic produce` and `topic consume` (rpk's names) count
# as produce and consume.
function __sfcrime_cmd
    set -l w (__sfcrime_words)
    test "$w[1]" = "$argv[1]"; and return 0
    contains -- "$argv[1]" produce consume; and test "$w[1]" = topic -a "$w[2]" = "$argv[1]"
end

# True after `sfcrime COMMAND` ($argv[1]) and nothing else yet: its subcommand comes next.
function __sfcrime_needs_sub
    set -l w (__sfcrime_words)
    test (count $w) -eq 1 -a "$w[1]" = "$argv[1]"
end

# True when the words typed so far are `COMMAND SUB` ($argv[1] the command word) for one of the
# given SUBs ($argv[2..]).
function __sfcrime_sub
    set -l w (__sfcrime_words)
    test (count $w) -ge 2 -a "$w[1]" = "$argv[1]"; and contains -- $w[2] $argv[2..-1]
end

# The given field names, each after what the current token holds up to its last comma (for
# --by FIELD[,FIELD...]).
function __sfcrime_field_list
    set -l done (commandline -ct | string replace -r -- '^--by=' '' | string replace -r -- '[^,]*$' '')
    for f in $argv
        echo $done$f
    end
end

# The words `sfcrime __complete $argv[1]` prints (topics, groups, profiles), asked of the sfcrime
# being completed with the connection options already on the command line.
function __sfcrime_live
    set -l words (commandline -opc)
    set -l bin $words[1]
    set -e words[1]
    set -l conn
    set -l bare ''
    set -l topic_create 0
    set -l n (count $words)
    set -l i 1
    while test $i -le $n
        set -l w $words[$i]
        switch $w
            case -b --bootstrap-servers -X --property --config-file --profile --timeout --config
                set i (math $i + 1)
                test $i -le $n; or break
                set -l v $words[$i]
                # After `topic create`, --config is a topic config KEY=VALUE, not the file.
                if test "x$v" = xdump; or begin; test $topic_create -eq 1; and test "x$w" = x--config; end
                    set i (math $i + 1)
                    continue
                end
                set -a conn $w $v
            case -Xdump --property=dump
            case '--config=*'
                test $topic_create -eq 1; or set -a conn $w
            case '--bootstrap-servers=*' '--property=*' '--config-file=*' '--profile=*' '--timeout=*' '-b?*' '-X?*'
                set -a conn $w
            case '-*'
            case '*'
                test "$bare" = topic -a "$w" = create; and set topic_create 1
                set bare $w
        end
        set i (math $i + 1)
    end
    $bin $conn __complete $argv[1] 2>/dev/null </dev/null
end

# TOPIC[,TOPIC...]: the topic names, each after what the current token holds up to its last comma.
function __sfcrime_topic_list
    set -l done (commandline -ct | string replace -r -- '^--topics=' '' | string replace -r -- '[^,]*$' '')
    for t in (__sfcrime_live topics)
        echo $done$t
    end
end

set -l c sfcrime
complete -c $c -f

# Command words.
complete -c $c -n __sfcrime_no_command -a produce -d 'send records from a JSON array or NDJSON file to a topic'
complete -c $c -n __sfcrime_no_command -a consume -d "print a topic's message values, one per line"
complete -c $c -n __sfcrime_no_command -a aggregate -d 'count crime types and usual dispositions per event-time window'
complete -c $c -n __sfcrime_no_command -a topic -d 'create, list, describe, alter or delete topics'
complete -c $c -n __sfcrime_no_command -a group -d 'list, describe (offsets and lag), seek or delete consumer groups'
complete -c $c -n __sfcrime_no_command -a inspect -d "show brokers, topics, partitions and offsets, or a group's lag"
complete -c $c -n __sfcrime_no_command -a config -d 'show the effective configuration and where each value came from'
complete -c $c -n __sfcrime_no_command -a help -d 'show help for sfcrime or for one command'
complete -c $c -n __sfcrime_no_command -s V -l version -d 'print the versions and exit'
complete -c $c -n '__sfcrime_needs_sub help' -a "$commands[1..-2]"

# Shared options (every command, and before the command word). After `topic create`, --config is a
# topic config KEY=VALUE (below), so the config-file form of --config is offered everywhere else.
complete -c $c -n 'not __sfcrime_sub topic create' -l config -r -F -d 'key=value config file (env SFCRIME_CONFIG)'
complete -c $c -l config-file -r -F -d 'key=value config file, the same as --config'
complete -c $c -l profile -x -a '(__sfcrime_live profiles)' -d 'profile of the config file to apply (env SFCRIME_PROFILE)'
complete -c $c -s b -l bootstrap-servers -x -d 'brokers to connect to (default localhost:9092)'
complete -c $c -s X -l property -x -a dump -d 'librdkafka property KEY=VALUE; dump shows the configuration'
complete -c $c -l timeout -x -a '10s 30s 1m' -d 'bound on every wait for the broker (default 10s)'
complete -c $c -s v -l verbose -d 'more diagnostics on stderr (repeat: -vv)'
complete -c $c -s h -l help -d 'show the help'

# produce
set -l produce '__sfcrime_cmd produce'
complete -c $c -n $produce -s t -l topic -x -a '(__sfcrime_live topics)' -d 'topic to send to (must exist)'
complete -c $c -n $produce -a '(__sfcrime_live topics)' -d topic
complete -c $c -n $produce -s f -l file -r -F -d "input file, '-' for standard input (default)"
complete -c $c -n $produce -l key -x -a 'crime_id original_crime_type_name call_date_time disposition address' -d 'field whose value is the message key'
complete -c $c -n $produce -l skip -x -d 'pass over the first N records of the input'
complete -c $c -n $produce -l limit -x -d 'stop after reading N records'
complete -c $c -n $produce -l rate -x -d 'send at most N records per second'
complete -c $c -n $produce -l order -x -a 'file\t"input order (default)" event-time\t"ascending call_date_time, sorted on disk under \$TMPDIR"' -d 'send order'
complete -c $c -n $produce -l speedup -x -a '60 3600 86400' -d 'replay in event time: X seconds of event time per second'
complete -c $c -n $produce -l dead-letter-topic -x -a '(__sfcrime_live topics)' -d 'send every rejected record to this topic'
complete -c $c -n $produce -l dead-letter-file -r -F -d 'write every rejected record to this NDJSON file (truncated at start)'
complete -c $c -n $produce -l failed-file -r -F -d 'write every record not delivered to this NDJSON file, to resume from'
complete -c $c -n $produce -s H -l header -x -d 'add header KEY=VALUE to every message (repeatable)'
complete -c $c -n $produce -s z -l compression -x -a 'none gzip snappy lz4 zstd' -d 'compression codec'
complete -c $c -n $produce -l partitioner -x -a 'murmur2_random murmur2 consistent consistent_random fnv1a fnv1a_random random' -d 'partition of a keyed message (default murmur2_random)'
complete -c $c -n $produce -l progress -x -a 'auto bar none' -d 'progress bar on stderr (default auto: on a terminal)'
complete -c $c -n $produce -l input-format -x -a 'record envelope' -d 'record: police calls; envelope: consume --output json lines'
complete -c $c -n $produce -l keep-partition -d "send each envelope to its own partition"

# consume
set -l consume '__sfcrime_cmd consume'
complete -c $c -n $consume -s t -l topic -x -a '(__sfcrime_live topics)' -d 'topic to read'
complete -c $c -n $consume -a '(__sfcrime_live topics)' -d topic
complete -c $c -n $consume -s o -l offset -x -a 'beginning end' -d 'where each partition starts: beginning, end, N, -N or @TIME'
complete -c $c -n $consume -l from-beginning -d 'start at the earliest offset'
complete -c $c -n $consume -s p -l partition -x -d 'read only partition P (repeatable)'
complete -c $c -n $consume -s g -l group -x -a '(__sfcrime_live groups)' -d 'consumer group id'
complete -c $c -n $consume -l max-messages -x -d 'exit after printing N messages'
complete -c $c -n $consume -s e -l exit-at-end -d 'exit when the end of every partition is reached'
complete -c $c -n $consume -l format -x -d 'print each message as kcat -f does (%t %p %o %T %k %s %h ...)'
complete -c $c -n $consume -l output -x -a 'text json' -d 'text: the value a line; json: one envelope a line'

# aggregate
set -l aggregate '__sfcrime_cmd aggregate'
complete -c $c -n $aggregate -s t -l topic -x -a '(__sfcrime_live topics)' -d 'topic to read'
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
complete -c $c -n $aggregate -l output-topic -x -a '(__sfcrime_live topics)' -d 'send each row to this topic'
complete -c $c -n $aggregate -l late-topic -x -a '(__sfcrime_live topics)' -d 'send late records to this topic'
complete -c $c -n $aggregate -l progress -x -a 'auto text json none' -d 'progress reports on stderr (default auto)'
complete -c $c -n $aggregate -l radio-codes -r -F -d 'radio_code.json with disposition descriptions'
complete -c $c -n $aggregate -l from-beginning -d 'start at the earliest offset'
complete -c $c -n $aggregate -s e -l exit-at-end -d 'close every window and exit at the end of every partition'
complete -c $c -n $aggregate -s g -l group -x -a '(__sfcrime_live groups)' -d 'consumer group id (share partitions)'
complete -c $c -n $aggregate -l exactly-once -d 'one transaction per batch, state restored on start (needs --group)'
complete -c $c -n $aggregate -l scale-out -d 'exactly once, shared by every process of the group (needs --group)'
complete -c $c -n $aggregate -l max-idle -x -a '2s 10s 1m' -d 'how long an idle partition is waited for (default 2s)'

# inspect, and `inspect group GROUP`
set -l inspect '__sfcrime_cmd inspect'
complete -c $c -n '__sfcrime_needs_sub inspect' -a group -d "a consumer group's offsets and lag"
complete -c $c -n '__sfcrime_sub inspect group' -a '(__sfcrime_live groups)' -d 'consumer group'
complete -c $c -n $inspect -s t -l topic -x -a '(__sfcrime_live topics)' -d 'show only this topic'
complete -c $c -n $inspect -l all -d 'include internal topics such as __consumer_offsets'
complete -c $c -n $inspect -s o -l output -x -a 'table json' -d 'output format (default table)'
complete -c $c -n '__sfcrime_sub inspect group' -s s -l print-summary -d 'show only the summary of each group'
complete -c $c -n '__sfcrime_sub inspect group' -s c -l print-commits -d 'show only the partition table of each group'

# topic and its subcommands
set -l needs_topic_sub '__sfcrime_needs_sub topic'
complete -c $c -n $needs_topic_sub -a create -d 'create a topic'
complete -c $c -n $needs_topic_sub -a list -d 'list topics with partition counts and replication factors'
complete -c $c -n $needs_topic_sub -a describe -d 'summary, configuration and partitions of one topic'
complete -c $c -n $needs_topic_sub -a delete -d 'delete topics'
complete -c $c -n $needs_topic_sub -a alter-config -d 'set or remove configuration keys of a topic'
complete -c $c -n $needs_topic_sub -a add-partitions -d 'add partitions to a topic'
complete -c $c -n $needs_topic_sub -a produce -d 'send records to a topic: sfcrime produce (rpk topic produce)'
complete -c $c -n $needs_topic_sub -a consume -d "print a topic's messages: sfcrime consume (rpk topic consume)"
# The NAME operand of the subcommands that take an existing topic (produce's and consume's TOPIC,
# also under topic produce|consume, is offered under produce and consume).
complete -c $c -n '__sfcrime_sub topic describe delete alter-config add-partitions' -a '(__sfcrime_live topics)' -d topic

complete -c $c -n '__sfcrime_sub topic create' -l name -x -d 'topic name'
complete -c $c -n '__sfcrime_sub topic create' -s p -l partitions -x -d 'number of partitions (default 1)'
complete -c $c -n '__sfcrime_sub topic create' -s r -l replication-factor -x -d 'replicas per partition (default 1)'
complete -c $c -n '__sfcrime_sub topic create' -s c -l config -x -d 'topic configuration KEY=VALUE, repeatable'
complete -c $c -n '__sfcrime_sub topic create' -l if-not-exists -d 'succeed without change when the topic exists'
complete -c $c -n '__sfcrime_sub topic create' -s d -l dry-run -d 'let the broker validate the request; create nothing'

complete -c $c -n '__sfcrime_sub topic list' -l all -d 'include internal topics such as __consumer_offsets'

complete -c $c -n '__sfcrime_sub topic describe delete alter-config add-partitions' -l name -x -a '(__sfcrime_live topics)' -d 'topic name'
complete -c $c -n '__sfcrime_sub topic describe' -s s -l print-summary -d 'show the summary section'
complete -c $c -n '__sfcrime_sub topic describe' -s c -l print-configs -d 'show the configuration section'
complete -c $c -n '__sfcrime_sub topic describe' -s p -l print-partitions -d 'show the partitions section'
complete -c $c -n '__sfcrime_sub topic describe' -s a -l print-all -d 'show every section (the default)'

complete -c $c -n '__sfcrime_sub topic delete' -l if-exists -d 'succeed without change when a topic does not exist'

complete -c $c -n '__sfcrime_sub topic alter-config' -s s -l set -x -d 'set KEY to VALUE, repeatable'
complete -c $c -n '__sfcrime_sub topic alter-config' -s d -l delete -x -d "remove the topic's own setting of KEY, repeatable"
complete -c $c -n '__sfcrime_sub topic alter-config' -l dry-run -d 'let the broker validate the change; change nothing'

complete -c $c -n '__sfcrime_sub topic add-partitions' -s n -l num -x -d 'number of partitions to add'
complete -c $c -n '__sfcrime_sub topic add-partitions' -s d -l dry-run -d 'let the broker validate the request; change nothing'

# group and its subcommands
set -l needs_group_sub '__sfcrime_needs_sub group'
complete -c $c -n $needs_group_sub -a list -d 'list consumer groups with their state'
complete -c $c -n $needs_group_sub -a describe -d 'committed offsets, end offsets, lag and members of groups'
complete -c $c -n $needs_group_sub -a delete -d 'delete groups and their committed offsets'
complete -c $c -n $needs_group_sub -a seek -d "set an empty group's offsets to start, end, an offset or a time"
# The GROUP operand.
complete -c $c -n '__sfcrime_sub group describe delete seek' -a '(__sfcrime_live groups)' -d 'consumer group'
complete -c $c -n '__sfcrime_sub group describe delete seek' -l group -x -a '(__sfcrime_live groups)' -d 'group id'

complete -c $c -n '__sfcrime_sub group describe' -s s -l print-summary -d 'show only the summary of each group'
complete -c $c -n '__sfcrime_sub group describe' -s c -l print-commits -d 'show only the partition table of each group'

complete -c $c -n '__sfcrime_sub group seek' -l to -x -a 'start end earliest latest' -d 'start, end, OFFSET or @TIMESTAMP_MS'
complete -c $c -n '__sfcrime_sub group seek' -l topics -x -a '(__sfcrime_topic_list)' -d 'only these topics (comma-separated)'
complete -c $c -n '__sfcrime_sub group seek' -l allow-new-topics -d 'allow --topics to name topics the group has no offsets on yet'
complete -c $c -n '__sfcrime_sub group seek' -l dry-run -d 'show the offsets it would set; commit nothing'

# config and its subcommands
set -l needs_config_sub '__sfcrime_needs_sub config'
complete -c $c -n $needs_config_sub -a show -d 'the effective configuration and where each value came from'
complete -c $c -n $needs_config_sub -a profiles -d 'the profiles of the config file, the applied one marked'
complete -c $c -n $needs_config_sub -a path -d 'the config file in effect'
complete -c $c -n '__sfcrime_sub config show' -s a -l all -d "also every librdkafka property left at librdkafka's default"

# --output of the subcommands (table or json)
complete -c $c -n "__sfcrime_sub topic $topic_subcommands; or __sfcrime_sub group $group_subcommands; or __sfcrime_sub config show profiles" -s o -l output -x -a 'table json' -d 'output format (default table)'
