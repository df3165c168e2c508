package main

// scaleTuneVariants are the sticky-cache rows of `make bench-tune` (issue
// 14, memory): the old default of 10,000 cached workflows against smaller
// caches, one smaller than the figure's open leads so that every timer and
// task of an evicted lead replays its history.
const scaleTuneVariants = ";BATON_WORKER_STICKY_CACHE=10000;BATON_WORKER_STICKY_CACHE=1000;BATON_WORKER_STICKY_CACHE=100"
