package metrics

import (
	"fmt"
	"slices"
	"testing"
)

func TestDataSourceGauges(t *testing.T) {
	m := New(nil)
	states := []DataSourceState{{Name: "blog", Up: true, Restarts: 2}, {Name: "db", Degraded: true, Restarts: 40}}
	m.WatchDataSources(func() []DataSourceState { return states })
	families, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range families {
		if !slices.Contains([]string{"kiln_data_source_up", "kiln_data_source_degraded", "kiln_data_source_restarts_total"}, f.GetName()) {
			continue
		}
		for _, s := range f.GetMetric() {
			v := s.GetGauge().GetValue() + s.GetCounter().GetValue()
			got = append(got, fmt.Sprintf("%s{%s} %g", f.GetName(), s.GetLabel()[0].GetValue(), v))
		}
	}
	want := []string{
		"kiln_data_source_degraded{blog} 0", "kiln_data_source_degraded{db} 1",
		"kiln_data_source_restarts_total{blog} 2", "kiln_data_source_restarts_total{db} 40",
		"kiln_data_source_up{blog} 1", "kiln_data_source_up{db} 0",
	}
	if !slices.Equal(got, want) {
		t.Errorf("gauges =\n%q\nwant\n%q", got, want)
	}
}

func TestStoreReadOnlyGauge(t *testing.T) {
	m := New(nil)
	ro := false
	m.WatchStoreReadOnly(func() bool { return ro })
	value := func() float64 {
		families, err := m.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			if f.GetName() == "kiln_store_read_only" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("no kiln_store_read_only")
		return 0
	}
	if v := value(); v != 0 {
		t.Errorf("read-write store: kiln_store_read_only = %g", v)
	}
	ro = true
	if v := value(); v != 1 {
		t.Errorf("read-only store: kiln_store_read_only = %g", v)
	}
}
