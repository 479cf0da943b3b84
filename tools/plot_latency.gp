# Latency bars (FP32 vs INT8 engine, batch 1 and 64), from the CSV that tools/report.sh makes.
# gnuplot -e "csv='docs/img/latency.csv'; out='docs/img/latency.svg'; fmt='svg'" tools/plot_latency.gp
if (!exists("fmt")) fmt = 'svg'
if (fmt eq 'png') { set terminal pngcairo size 1000,480 font ',10' } else { set terminal svg size 1000,480 font 'sans,11' }
set output out
set datafile separator ','
set datafile missing 'NaN'
set title 'Engine latency (median ms, log scale): FP32 vs INT8'
set ylabel 'ms per batch'
set logscale y
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical
set grid ytics
set xtics noenhanced
plot csv using 2:xtic(1) skip 1 title 'FP32 batch 1', \
     '' using 3 skip 1 title 'INT8 batch 1', \
     '' using 4 skip 1 title 'FP32 batch 64', \
     '' using 5 skip 1 title 'INT8 batch 64'
