package benchdata

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// Scale says how much data to generate. Zero fields take the defaults.
type Scale struct {
	// Items is the number of materials (default 250).
	Items int
	// Sites is the number of ML sites per item, each with its own ERP
	// depot (default 2).
	Sites int
	// Days of history (default 730).
	Days int
	// Sources of forecasts (default ["ensemble"]).
	Sources []string
	// Start is the first day (default 2023-01-01).
	Start time.Time
	// LinesPerItemDay is the mean number of ERP lines per item and day
	// (default 0.9: 3,000 items x 3 years is about 3M lines).
	LinesPerItemDay float64
	// Suppliers is the number of suppliers (default 600).
	Suppliers int
	// Seed varies the figures (default 1).
	Seed uint64
}

// WithDefaults returns s with its zero fields set to the defaults.
func (s Scale) WithDefaults() Scale {
	if s.Items <= 0 {
		s.Items = 250
	}
	if s.Sites <= 0 {
		s.Sites = 2
	}
	if s.Days <= 0 {
		s.Days = 730
	}
	if len(s.Sources) == 0 {
		s.Sources = []string{"ensemble"}
	}
	if s.Start.IsZero() {
		s.Start = time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if s.LinesPerItemDay <= 0 {
		s.LinesPerItemDay = 0.9
	}
	if s.Suppliers <= 0 {
		s.Suppliers = 600
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	return s
}

// ForecastRows is the number of forecast rows WriteForecasts writes for
// the days [from, to).
func (s Scale) ForecastRows(from, to int) int64 {
	s = s.WithDefaults()
	return int64(s.Items) * int64(s.Sites) * int64(len(s.Sources)) * int64(to-from)
}

// Day is the date of day index d.
func (s Scale) Day(d int) time.Time { return s.WithDefaults().Start.AddDate(0, 0, d) }

// Familia and Material of item i: the ML item id is Familia_Material.
func (s Scale) Familia(i int) string  { return "FAM" + strconv.Itoa(i%40) }
func (s Scale) Material(i int) string { return fmt.Sprintf("MATERIAL %05d", i) }

// Item is the ML item id (FAMÍLIA_MATERIAL) of item i.
func (s Scale) Item(i int) string { return s.Familia(i) + "_" + s.Material(i) }

// Site is the ML site id of site j (1-based ids: "1", "2", ...) and Depot
// its ERP depot.
func (s Scale) Site(j int) string  { return strconv.Itoa(j + 1) }
func (s Scale) Depot(j int) string { return fmt.Sprintf("DEP-%02d", j+1) }

// mix is splitmix64: every figure is a function of its key, so that a day
// written alone equals the same day written with the whole history.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func (s Scale) rand(parts ...int) uint64 {
	h := s.Seed
	for _, p := range parts {
		h = mix(h ^ uint64(p))
	}
	return h
}

// unit is a uniform number in [0, 1) from a key.
func (s Scale) unit(parts ...int) float64 {
	return float64(s.rand(parts...)>>11) / (1 << 53)
}

const generatedLayout = "2006-01-02T15:04:05Z"

// ForecastHeader is the header of WriteForecasts' CSV (the ML metadata
// are columns, as the loader accepts them).
const ForecastHeader = "item_id,site_id,deposito,date,forecast,lower,upper,model_version,generated_at,source,dataset_id\n"

// WriteForecasts writes the forecasts of the days [from, to) as CSV: one
// row per item, site, source and day, a weekly pattern around a level of
// the item, generated the day before from (a later file, e.g. one new day,
// is a newer generation).
func WriteForecasts(w io.Writer, s Scale, from, to int) (int64, error) {
	s = s.WithDefaults()
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(ForecastHeader); err != nil {
		return 0, err
	}
	gen := s.Day(from).AddDate(0, 0, -1).Add(3 * time.Hour).Format(generatedLayout)
	var n int64
	buf := make([]byte, 0, 256)
	for i := 0; i < s.Items; i++ {
		level := 1 + 20*s.unit(i, 1)
		for j := 0; j < s.Sites; j++ {
			for k, src := range s.Sources {
				for d := from; d < to; d++ {
					f := level * (1 + 0.3*math.Sin(float64(d)*2*math.Pi/7)) * (0.8 + 0.4*s.unit(i, j, k, d))
					f = math.Round(f*1000) / 1000
					buf = buf[:0]
					buf = append(buf, s.Item(i)...)
					buf = append(buf, ',')
					buf = append(buf, s.Site(j)...)
					buf = append(buf, ',')
					buf = append(buf, s.Depot(j)...)
					buf = append(buf, ',')
					buf = s.Day(d).AppendFormat(buf, time.DateOnly)
					buf = append(buf, ',')
					buf = strconv.AppendFloat(buf, f, 'f', -1, 64)
					buf = append(buf, ',')
					buf = strconv.AppendFloat(buf, math.Round(f*800)/1000, 'f', -1, 64)
					buf = append(buf, ',')
					buf = strconv.AppendFloat(buf, math.Round(f*1200)/1000, 'f', -1, 64)
					buf = append(buf, ",bench-v1,"...)
					buf = append(buf, gen...)
					buf = append(buf, ',')
					buf = append(buf, src...)
					buf = append(buf, ",bench\n"...)
					if _, err := bw.Write(buf); err != nil {
						return n, err
					}
					n++
				}
			}
		}
	}
	return n, bw.Flush()
}

// ERPHeader is the header of WriteERP's CSV: the company's export.
const ERPHeader = "DEPÓSITO,PRODUTO/SERVIÇO,MATERIAL,FAMÍLIA,NOME FORNEC.,QUANTIDADE,U.M.,DATA REQUISITADA,SOLICITAÇÃO,DATA SOLICITADO,DATA DE COMPRA\n"

// WriteERP writes the ERP requisition lines requested on the days [from,
// to) as the company's export: about LinesPerItemDay lines per item and
// day, at the item's sites' depots (a few at the office, ESCRITÓRIO, or
// with a blank depot), from the item's two or three suppliers, bought 0 to
// 40 days after the request (about 6 % before it, as in the real export).
func WriteERP(w io.Writer, s Scale, from, to int) (int64, error) {
	s = s.WithDefaults()
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(ERPHeader); err != nil {
		return 0, err
	}
	var n int64
	buf := make([]byte, 0, 256)
	for d := from; d < to; d++ {
		day := s.Day(d)
		for i := 0; i < s.Items; i++ {
			// lines = floor(mean + u): mean lines per item-day on average
			lines := int(s.LinesPerItemDay + s.unit(i, d, 7))
			for l := 0; l < lines; l++ {
				u := s.rand(i, d, l, 11)
				depot := s.Depot(int(u % uint64(s.Sites)))
				switch (u >> 8) % 20 {
				case 0:
					depot = ""
				case 1:
					depot = "ESCRITÓRIO"
				}
				supplier := int(mix(uint64(i)*3+(u>>16)%3) % uint64(s.Suppliers))
				qty := float64(1+(u>>24)%20) / 2
				lead := int((u>>32)%41) - 2
				if (u>>40)%25 == 0 {
					lead = -int(1 + (u>>44)%60)
				}
				buf = buf[:0]
				buf = append(buf, depot...)
				buf = append(buf, ',')
				buf = append(buf, fmt.Sprintf("%06d", 10000+i)...)
				buf = append(buf, ',')
				buf = append(buf, s.Material(i)...)
				buf = append(buf, ',')
				buf = append(buf, s.Familia(i)...)
				buf = append(buf, ",FORNECEDOR "...)
				buf = strconv.AppendInt(buf, int64(supplier), 10)
				buf = append(buf, " LTDA,"...)
				buf = strconv.AppendFloat(buf, qty, 'f', 1, 64)
				buf = append(buf, ",UN,,"...)
				buf = strconv.AppendInt(buf, int64(100000+d*10+l), 10)
				buf = append(buf, ',')
				buf = day.AppendFormat(buf, time.DateOnly)
				buf = append(buf, ',')
				buf = day.AddDate(0, 0, lead).AppendFormat(buf, time.DateOnly)
				buf = append(buf, '\n')
				if _, err := bw.Write(buf); err != nil {
					return n, err
				}
				n++
			}
		}
	}
	return n, bw.Flush()
}

// InventoryHeader is the header of WriteInventory's CSV.
const InventoryHeader = "item_id,site_id,deposito,date,current_stock,safety_stock,reorder_point,days_to_rupture,stock_status,model_version,generated_at,source,dataset_id\n"

// WriteInventory writes one stock position per item and site on day d.
func WriteInventory(w io.Writer, s Scale, d int) (int64, error) {
	s = s.WithDefaults()
	bw := bufio.NewWriterSize(w, 1<<20)
	if _, err := bw.WriteString(InventoryHeader); err != nil {
		return 0, err
	}
	gen := s.Day(d).Add(3 * time.Hour).Format(generatedLayout)
	var n int64
	for i := 0; i < s.Items; i++ {
		for j := 0; j < s.Sites; j++ {
			stock := math.Round(30*s.unit(i, j, d, 3)*10) / 10
			reorder := math.Round((5+10*s.unit(i, j, 4))*10) / 10
			status := "normal"
			if stock <= reorder {
				status = "critical"
			}
			if _, err := fmt.Fprintf(bw, "%s,%s,%s,%s,%g,%g,%g,%g,%s,bench-v1,%s,prescriptive,bench\n", s.Item(i), s.Site(j), s.Depot(j),
				s.Day(d).Format(time.DateOnly), stock, reorder/3, reorder, math.Round(stock/2*10)/10, status, gen); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, bw.Flush()
}
