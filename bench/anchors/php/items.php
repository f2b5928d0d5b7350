<?php
// JSON API: `?n=10` items from the query string (bench/workloads.js).
$n = min(1000, (int) ($_GET['n'] ?? 10));
$items = [];
for ($i = 0; $i < $n; $i++) {
    $items[] = ['id' => $i, 'name' => "Item $i", 'price' => 100 + $i, 'inStock' => $i % 2 === 0];
}
header('Content-Type: application/json');
echo json_encode(['items' => $items]);
