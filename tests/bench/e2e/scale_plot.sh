#!/usr/bin/env bash
# Draws scale_bench.sh's CSV: bulk submit rate (left axis) and exact /
# CIDR /24 query p99 (right axis) against the number of stored indicators.
# Usage: scale_plot.sh CSV PNG N
set -euo pipefail
gnuplot <<G
set terminal pngcairo size 800,450 font ",10"
set output "$2"
set datafile separator ","
set title "caravan at scale N=$3: submit rate and query p99 vs store size"
set xlabel "indicators stored"
set ylabel "bulk submit (indicators/s)"
set y2label "query p99 (ms)"
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set format x "%.1s%c"
set key top right
set grid
plot "$1" every ::1 using 1:2 with linespoints lw 2 title "submit rate", \
     "$1" every ::1 using 1:(\$4/1000) axes x1y2 with linespoints title "exact p99", \
     "$1" every ::1 using 1:(\$6/1000) axes x1y2 with linespoints title "CIDR /24 p99"
G
