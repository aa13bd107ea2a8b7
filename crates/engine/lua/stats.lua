-- stats: one schedule's monitoring figures, after the queue's bounded housekeeping (so the figures stay
-- true even when no buyer is calling: due sessions end, abandoned buyers drop out, free slots fill).
-- O(1) in the queue size. No ARGV.
-- Returns {OK, state, gen, waiting, active, capacity, avg_service_ms, admitted_total, abandoned_total,
--          completed_total, expired_total, left_total, removed_total, outbox_len, session_ms, abandon_ms,
--          last_seq, opened_ms, closed_reason, max_seats, outbox_dropped, pow_bits, outflow,
--          seats_total, seats_left, seats_sold_gen, draw_commit, draw_seed (once revealed), draw_n,
--          ms_per_admission, admit_share_ppm, admissions_last_60s, estimate_error_permille (-1: too few),
--          estimate_samples, estimate_error_p10_permille, estimate_error_p90_permille}
--       | {E_NO_QUEUE, outbox_len}
local m = load_meta()
local outbox = redis.call('XLEN', K_OUT)
if not m then return {E_NO_QUEUE, outbox} end
local now = now_ms()
if m.state ~= 'closed' then maintain(m, now, 100, 200) end
return stats_reply(m, outbox, now)
