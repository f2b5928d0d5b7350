<?php
// A POSTed JSON body, parsed and answered back (bench/workloads.js).
$data = json_decode(file_get_contents('php://input'), true);
if ($data === null) {
    http_response_code(400);
    exit;
}
header('Content-Type: application/json');
echo json_encode($data);
