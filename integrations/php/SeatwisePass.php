<?php
// Checks a Seatwise admission pass (docs/PROTOCOL.md, "Admission pass"): offline by its signature, key id
// and expiry; online (the session is still live) by asking a gateway. PHP 8, no extension beyond the
// standard ones (hash, json).

declare(strict_types=1);

namespace Seatwise;

final class PassRefused extends \Exception {}

final class SeatwisePass
{
    private static function b64url(string $bytes): string
    {
        return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
    }

    private static function unb64url(string $text): string|false
    {
        return base64_decode(strtr($text, '-_', '+/') . str_repeat('=', (4 - strlen($text) % 4) % 4), true);
    }

    /** The key id a pass names: the first 8 characters of base64url(HMAC-SHA256(key, "seatwise-key-id")). */
    public static function keyId(string $key): string
    {
        return substr(self::b64url(hash_hmac('sha256', 'seatwise-key-id', $key, true)), 0, 8);
    }

    /**
     * Verifies a pass offline with the pass keys (current first, then previous ones while they rotate).
     * @param string[] $keys
     * @return array{scope: string, ticket: string, exp: int}
     * @throws PassRefused saying why
     */
    public static function verify(string $pass, array $keys, ?int $nowMs = null): array
    {
        $nowMs ??= (int) floor(microtime(true) * 1000);
        $parts = explode('.', $pass);
        if (count($parts) !== 2) {
            throw new PassRefused('not a pass: two base64url parts joined by "."');
        }
        [$body, $sig] = $parts;
        $json = self::unb64url($body);
        $claims = $json === false ? null : json_decode($json, true);
        if (!is_array($claims)) {
            throw new PassRefused('the first part is not a pass');
        }
        $key = null;
        foreach ($keys as $k) {
            if (self::keyId($k) === ($claims['kid'] ?? null)) {
                $key = $k;
                break;
            }
        }
        if ($key === null) {
            throw new PassRefused('signed with a key this site does not have (unknown key id)');
        }
        $got = self::unb64url($sig);
        if ($got === false || !hash_equals(hash_hmac('sha256', $body, $key, true), $got)) {
            throw new PassRefused('the signature does not match');
        }
        if (!is_int($claims['exp'] ?? null) || $nowMs >= $claims['exp']) {
            throw new PassRefused('this pass has expired');
        }
        if (!is_string($claims['ticket'] ?? null) || !preg_match('/^\d+\.\d+\.[0-9a-f]{16}$/', $claims['ticket'])
            || !is_string($claims['scope'] ?? null)) {
            throw new PassRefused('the pass names no ticket');
        }
        return ['scope' => $claims['scope'], 'ticket' => $claims['ticket'], 'exp' => $claims['exp']];
    }

    /** The online check: the gateway says whether the ticket is still admitted with a live session now. */
    public static function verifyOnline(string $gatewayUrl, string $pass): array
    {
        $ctx = stream_context_create(['http' => [
            'method' => 'POST', 'header' => "content-type: application/json\r\n",
            'content' => json_encode(['pass' => $pass]), 'timeout' => 5, 'ignore_errors' => true,
        ]]);
        $text = @file_get_contents(rtrim($gatewayUrl, '/') . '/v1/passes/verify', false, $ctx);
        $answer = json_decode((string) $text, true) ?? [];
        $status = isset($http_response_header[0]) ? (int) explode(' ', $http_response_header[0])[1] : 0;
        if ($status !== 200) {
            throw new PassRefused($answer['message'] ?? "the gateway answered $status");
        }
        return $answer;
    }
}

// Command line: SEATWISE_PASS_KEY=… [SEATWISE_GATEWAY=url] php SeatwisePass.php <pass>
if (PHP_SAPI === 'cli' && realpath($argv[0] ?? '') === __FILE__) {
    $keys = array_values(array_filter([getenv('SEATWISE_PASS_KEY') ?: '', getenv('SEATWISE_PASS_KEY_PREVIOUS') ?: '']));
    try {
        $claims = SeatwisePass::verify($argv[1] ?? '', $keys);
        if (getenv('SEATWISE_GATEWAY')) {
            SeatwisePass::verifyOnline(getenv('SEATWISE_GATEWAY'), $argv[1]);
        }
        echo json_encode(['valid' => true] + $claims), "\n";
    } catch (PassRefused $e) {
        echo json_encode(['valid' => false, 'reason' => $e->getMessage()]), "\n";
        exit(1);
    }
}
