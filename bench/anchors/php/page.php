<?php
// An HTML page (~5 KB) from a template: PHP's own, literal HTML with escaped holes.
$rows = [];
for ($i = 1; $i <= 40; $i++) {
    $rows[] = ['id' => $i, 'name' => "Widget $i & <Co>", 'price' => 100 + $i * 7, 'stock' => ($i * 13) % 50];
}
$title = 'Products & <prices>';
function e($v) { return htmlspecialchars((string) $v, ENT_COMPAT | ENT_HTML5, 'UTF-8'); }
header('Content-Type: text/html; charset=utf-8');
?>
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title><?= e($title) ?></title>
<link rel="stylesheet" href="/style.css">
</head>
<body>
<h1><?= e($title) ?></h1>
<table>
<thead><tr><th>#</th><th>Name</th><th>Price</th><th>Stock</th></tr></thead>
<tbody>
<?php foreach ($rows as $r): ?>
<tr><td><?= $r['id'] ?></td><td><a href="/item/<?= $r['id'] ?>"><?= e($r['name']) ?></a></td><td class="num"><?= $r['price'] ?></td><td class="num"><?= $r['stock'] ?></td></tr>
<?php endforeach ?>
</tbody>
</table>
<footer><?= count($rows) ?> products</footer>
</body>
</html>
