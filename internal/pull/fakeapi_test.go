package pull

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeAPI replays response bodies of the five APIs on 127.0.0.1, filtering
// SGS and PTAX observations by the requested dates like the real services,
// and lets a test inject faults.
type fakeAPI struct {
	t   testing.TB
	srv *httptest.Server

	mu     sync.Mutex
	sgs    map[string][]json.RawMessage // code -> observations
	ptax   map[string][]json.RawMessage // currency -> quotations
	sidra  map[string][]byte            // "1737/63" -> body
	meteo  map[string][]byte            // timezone -> body
	csv    map[string][]byte            // path -> body
	fault  func(n int, w http.ResponseWriter, r *http.Request) bool
	hits   int
	log    []hit
	served map[string][]byte // URL -> last body served
}

type hit struct {
	at  time.Time
	url string
	ua  string
}

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{t: t, sgs: map[string][]json.RawMessage{}, ptax: map[string][]json.RawMessage{}, sidra: map[string][]byte{},
		meteo: map[string][]byte{}, csv: map[string][]byte{}, served: map[string][]byte{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

// config points every source at the fake API and makes retries fast.
func (f *fakeAPI) config() Config {
	c := DefaultConfig()
	c.SGS.BaseURL = f.srv.URL + "/dados/serie"
	c.PTAX.BaseURL = f.srv.URL + "/olinda/servico/PTAX/versao/v1/odata/"
	c.SIDRA.BaseURL = f.srv.URL + "/values"
	c.OpenMeteo.BaseURL = f.srv.URL + "/v1/archive"
	// Not a test of timeouts (those set their own, against a stalling
	// handler): a busy machine must not make a request time out.
	c.Timeout = 60 * time.Second
	c.BackoffMin, c.BackoffMax = 5*time.Millisecond, 20*time.Millisecond
	c.RatePerSecond, c.RateBurst = 1000, 100
	return c
}

func (f *fakeAPI) setSGS(code string, body []byte) {
	var els []json.RawMessage
	if err := json.Unmarshal(body, &els); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.sgs[code] = els
	f.mu.Unlock()
}

func (f *fakeAPI) setPTAX(cur string, body []byte) {
	var doc struct {
		Value []json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		f.t.Fatal(err)
	}
	f.mu.Lock()
	f.ptax[cur] = doc.Value
	f.mu.Unlock()
}

func (f *fakeAPI) hitCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func (f *fakeAPI) urls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.log))
	for i, h := range f.log {
		out[i] = h.url
	}
	return out
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.hits++
	n := f.hits
	f.log = append(f.log, hit{at: time.Now(), url: r.URL.String(), ua: r.UserAgent()})
	fault := f.fault
	f.mu.Unlock()
	if fault != nil && fault(n, w, r) {
		return
	}
	body, status := f.route(r)
	if status != http.StatusOK {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
		return
	}
	f.mu.Lock()
	f.served["http://"+r.Host+r.URL.String()] = body
	f.mu.Unlock()
	if strings.HasSuffix(r.URL.Path, ".csv") {
		w.Header().Set("Content-Type", "text/csv; charset=iso-8859-1")
	} else {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
	}
	w.Write(body)
}

func (f *fakeAPI) route(r *http.Request) ([]byte, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, q := r.URL.Path, r.URL.Query()
	switch {
	case strings.HasPrefix(p, "/dados/serie/bcdata.sgs."):
		code := strings.TrimSuffix(strings.TrimPrefix(p, "/dados/serie/bcdata.sgs."), "/dados")
		obs, ok := f.sgs[code]
		if !ok {
			return []byte(`{"error":"Série não encontrada"}`), http.StatusNotFound
		}
		from, err1 := time.Parse("02/01/2006", q.Get("dataInicial"))
		to, err2 := time.Parse("02/01/2006", q.Get("dataFinal"))
		if err1 != nil || err2 != nil || q.Get("formato") != "json" {
			return []byte(`{"error":"parâmetros inválidos"}`), http.StatusBadRequest
		}
		if to.After(from.AddDate(10, 0, 0)) {
			return []byte(`{"error":"O sistema aceita uma janela de consulta de, no máximo, 10 anos em séries de periodicidade diária"}`), http.StatusNotAcceptable
		}
		var out []json.RawMessage
		for _, o := range obs {
			var x struct{ Data string }
			_ = json.Unmarshal(o, &x)
			if dt, err := time.Parse("02/01/2006", x.Data); err != nil || (!dt.Before(from) && !dt.After(to)) {
				out = append(out, o)
			}
		}
		return compactArray(out), http.StatusOK
	case strings.HasPrefix(p, "/olinda/servico/PTAX/versao/v1/odata/CotacaoMoedaPeriodo("):
		cur := strings.Trim(q.Get("@moeda"), "'")
		from, err1 := time.Parse("01-02-2006", strings.Trim(q.Get("@dataInicial"), "'"))
		to, err2 := time.Parse("01-02-2006", strings.Trim(q.Get("@dataFinalCotacao"), "'"))
		if err1 != nil || err2 != nil || q.Get("$format") != "json" {
			return []byte(`{"error":{"code":"BadRequest"}}`), http.StatusBadRequest
		}
		var out []json.RawMessage
		for _, o := range f.ptax[cur] {
			var x struct {
				DataHoraCotacao string `json:"dataHoraCotacao"`
			}
			_ = json.Unmarshal(o, &x)
			dt, err := time.Parse(time.DateOnly, x.DataHoraCotacao[:min(10, len(x.DataHoraCotacao))])
			if err != nil || (!dt.Before(from) && !dt.After(to)) {
				out = append(out, o)
			}
		}
		var buf bytes.Buffer
		buf.WriteString(`{"@odata.context":"https://was-p.bcnet.bcb.gov.br/olinda/servico/PTAX/versao/v1/odata$metadata#_CotacaoMoedaPeriodo","value":`)
		buf.Write(compactArray(out))
		buf.WriteString("}")
		return buf.Bytes(), http.StatusOK
	case strings.HasPrefix(p, "/values/t/"):
		parts := strings.Split(strings.TrimPrefix(p, "/values/"), "/")
		// t/{table}/n1/all/v/{var}/p/{range}
		if len(parts) != 8 || parts[0] != "t" || parts[4] != "v" || parts[6] != "p" {
			return []byte(`"Parâmetro inválido"`), http.StatusBadRequest
		}
		b, ok := f.sidra[parts[1]+"/"+parts[5]]
		if !ok {
			return []byte(`"Tabela não encontrada"`), http.StatusBadRequest
		}
		return b, http.StatusOK
	case p == "/v1/archive":
		for _, k := range []string{"latitude", "longitude", "start_date", "end_date", "hourly", "timezone"} {
			if q.Get(k) == "" {
				return []byte(`{"error":true,"reason":"missing ` + k + `"}`), http.StatusBadRequest
			}
		}
		b, ok := f.meteo[q.Get("timezone")]
		if !ok {
			b, ok = f.meteo[""]
		}
		if !ok {
			return []byte(`{"error":true,"reason":"no data"}`), http.StatusBadRequest
		}
		return b, http.StatusOK
	}
	if b, ok := f.csv[p]; ok {
		return b, http.StatusOK
	}
	return []byte(`{"error":"not found"}`), http.StatusNotFound
}

func compactArray(els []json.RawMessage) []byte {
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i, e := range els {
		if i > 0 {
			buf.WriteByte(',')
		}
		_ = json.Compact(&buf, e)
	}
	buf.WriteByte(']')
	return buf.Bytes()
}
