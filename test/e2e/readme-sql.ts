/**
 * The SQL the README shows under "Useful SQL", run verbatim against what a real gateway stored
 * (events-sql.test.ts, fallbacks.test.ts), which also checks the README still shows them as they are.
 */

export const COST_PER_MODEL_PER_DAY = `SELECT
    toDate(ts) AS day,
    provider,
    model,
    count() AS requests,
    sum(prompt_tokens) AS prompt_tokens,
    sum(completion_tokens) AS completion_tokens,
    round(sum(cost_usd), 6) AS cost_usd,
    countIf(NOT priced) AS unpriced_calls
FROM watchllm.requests
WHERE ts >= now() - INTERVAL 30 DAY AND provider != ''
GROUP BY day, provider, model
ORDER BY day DESC, cost_usd DESC`;

export const PROVIDER_HEALTH_LAST_HOUR = `SELECT
    t.provider AS provider,
    sum(t.requests) AS requests,
    round(sum(t.errors) / sum(t.requests), 4) AS error_rate,
    round(quantilesMerge(0.5, 0.95, 0.99)(t.latency_ms)[2], 1) AS p95_latency_ms
FROM watchllm.requests_1m AS t
WHERE t.minute >= now() - INTERVAL 1 HOUR AND t.provider != ''
GROUP BY provider
ORDER BY requests DESC`;

export const TOP_USERS_THIS_MONTH = `SELECT
    user,
    count() AS requests,
    sum(prompt_tokens + completion_tokens) AS tokens,
    round(sum(cost_usd), 6) AS cost_usd,
    countIf(NOT priced) AS unpriced_calls
FROM watchllm.requests
WHERE ts >= toStartOfMonth(now()) AND user != ''
GROUP BY user
ORDER BY cost_usd DESC
LIMIT 10`;

/** In fallbacks.test.ts: the calls a fallback was needed for, by the model tried first. */
export const FALLBACKS_LAST_DAY = `SELECT
    splitByString(': ', attempts[1])[1] AS first_tried,
    provider AS answered_by,
    count() AS calls,
    countIf(outcome = 'success') AS answered
FROM watchllm.requests
WHERE ts >= now() - INTERVAL 1 DAY AND notEmpty(attempts)
GROUP BY first_tried, answered_by
ORDER BY calls DESC`;

export const README_QUERIES = [COST_PER_MODEL_PER_DAY, PROVIDER_HEALTH_LAST_HOUR, TOP_USERS_THIS_MONTH, FALLBACKS_LAST_DAY];
