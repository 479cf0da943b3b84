# Accuracy bars per model and method, from the CSV that tools/report.sh makes out of results.json.
# gnuplot -e "csv='docs/img/accuracy.csv'; out='docs/img/accuracy.svg'; fmt='svg'" tools/plot_accuracy.gp
if (!exists("fmt")) fmt = 'svg'
if (fmt eq 'png') { set terminal pngcairo size 1000,480 font ',10' } else { set terminal svg size 1000,480 font 'sans,11' }
set output out
set datafile separator ','
set datafile missing 'NaN'
set title 'Fashion-MNIST test top-1: FP32 vs PTQ (per calibrator) vs QAT'
set ylabel 'top-1 (%)'
set style data histogram
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key outside right top vertical
set grid ytics
set xtics noenhanced
# Zoom on the interesting band; bars below it are clipped at the floor.
stats csv using 2 skip 1 nooutput
ymax = STATS_max + 1.5 < 100 ? STATS_max + 1.5 : 100
ymin = STATS_min - 8 > 0 ? STATS_min - 8 : 0
set yrange [ymin:ymax]
plot csv using 2:xtic(1) skip 1 title 'FP32', \
     '' using 3 skip 1 title 'PTQ max', \
     '' using 4 skip 1 title 'PTQ percentile', \
     '' using 5 skip 1 title 'PTQ entropy', \
     '' using 6 skip 1 title 'PTQ mse', \
     '' using 7 skip 1 title 'QAT'
