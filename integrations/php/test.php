<?php
// The PHP checker's own tests (php php/test.php): plain assertions, no framework to install.
declare(strict_types=1);
require __DIR__ . '/SeatwisePass.php';

use Seatwise\PassRefused;
use Seatwise\SeatwisePass;

$v = json_decode(file_get_contents(__DIR__ . '/../vectors.json'), true);
$failed = 0;
function check(string $name, callable $f): void
{
    global $failed;
    try {
        $f();
        echo "ok - $name\n";
    } catch (\Throwable $e) {
        $failed++;
        echo "not ok - $name: {$e->getMessage()}\n";
    }
}
function refused(callable $f, string $why): void
{
    try {
        $f();
    } catch (PassRefused $e) {
        if (!str_contains($e->getMessage(), $why)) {
            throw new \Exception("refused for another reason: {$e->getMessage()}");
        }
        return;
    }
    throw new \Exception("accepted, should be refused ($why)");
}

check('a pass signed by Seatwise verifies, before its expiry only', function () use ($v) {
    $c = SeatwisePass::verify($v['valid'], [$v['key']], $v['now']);
    if ($c !== ['scope' => $v['scope'], 'ticket' => $v['ticket'], 'exp' => $v['exp']]) {
        throw new \Exception(json_encode($c));
    }
    refused(fn () => SeatwisePass::verify($v['valid'], [$v['key']], $v['exp']), 'expired');
});
check('the previous key still verifies while keys rotate', function () use ($v) {
    SeatwisePass::verify($v['valid'], ['another key of at least 32 characters!', $v['key']], $v['now']);
});
check('forged, tampered and foreign passes are refused, saying why', function () use ($v) {
    refused(fn () => SeatwisePass::verify($v['forged'], [$v['key']], $v['now']), 'signature');
    refused(fn () => SeatwisePass::verify($v['valid'], ['a different key of 32 characters or more'], $v['now']), 'key id');
    refused(fn () => SeatwisePass::verify('nonsense', [$v['key']], $v['now']), 'two base64url parts');
});
exit($failed ? 1 : 0);
