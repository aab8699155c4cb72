// Package pull reads external series from public HTTP APIs into bronze
// (`novawh pull`): BCB SGS (bcb_sgs), BCB PTAX (bcb_ptax), IBGE SIDRA
// (ibge_sidra), the Open-Meteo archive (open_meteo, hourly values
// aggregated to local days) and a telecom/5G open-data CSV (anatel_5g,
// loaded through the file loader's mapping and dialect).
//
// Every source is split into series (an SGS code, a currency, a SIDRA
// table/variable, a city, a CSV feed) and every series into date windows
// that the API accepts (SGS daily series: at most 10 years). Each window is
// one HTTP response and one meta.loads row, written in ONE transaction with
// the raw response (bronze.raw_responses, with URL, fetch time and sha256),
// its bronze rows, its rejected rows and the advance of the series'
// watermark (meta.watermarks). A failed window leaves nothing behind but a
// failed meta.loads row, and stops its series; the other series and sources
// go on.
//
// HTTP: a per-request timeout, 3 attempts with exponential backoff and full
// jitter on network errors, 429 (Retry-After honoured, seconds or HTTP date)
// and 5xx (hashicorp/go-retryablehttp), no retry on other 4xx, a rate limit
// per host (golang.org/x/time/rate) and a User-Agent naming novawh.
// Bodies that are HTML, malformed or truncated fail their window with an
// error naming the URL and the line and column of the problem.
package pull
