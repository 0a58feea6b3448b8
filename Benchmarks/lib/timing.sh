# Sourced by benchmark scripts: wall-clock timing of a step.
#   start=$(now); …; seconds=$(since "$start")    # seconds, three decimals
now() { date +%s.%N; }
since() { awk -v a="$(now)" -v b="$1" 'BEGIN{printf "%.3f", a-b}'; }
