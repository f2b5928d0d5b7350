<?php
// hello: the smallest useful response (bench/workloads.js).
header('Content-Type: text/plain');
echo 'Hello, world!';
