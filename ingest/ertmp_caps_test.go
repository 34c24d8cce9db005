package ingest

import (
	"reflect"
	"testing"

	"github.com/livegate/gateway/ingest/amf"
	"github.com/livegate/gateway/ingest/rtmptest"
)

func TestERTMPCapsReply(t *testing.T) {
	all := []any{"avc1", "hvc1", "av01", "vp09", "mp4a", "Opus", "fLaC", "ac-3", "ec-3", ".mp3"}
	for _, c := range []struct {
		name string
		obj  amf.Object
		list []any // nil: no E-RTMP reply
	}{
		{"legacy client", amf.Object{{Key: "app", Value: "live"}}, nil},
		{"fourCcList", amf.Object{{Key: "fourCcList", Value: []any{"hvc1", "av01", "vp08", "Opus"}}},
			[]any{"hvc1", "av01", "Opus"}},
		// The specification's own example spells "Hvc1", "Avc1" and "Aac".
		{"odd capitalisation", amf.Object{{Key: "fourCcList", Value: []any{"Hvc1", "Avc1", "opus", 7.0}}},
			[]any{"avc1", "hvc1", "Opus"}},
		{"wildcard", amf.Object{{Key: "fourCcList", Value: []any{"*"}}}, all},
		{"info maps only", amf.Object{
			{Key: "videoFourCcInfoMap", Value: amf.Object{{Key: "hvc1", Value: 3.0}, {Key: "vp08", Value: 1.0}}},
			{Key: "audioFourCcInfoMap", Value: amf.Object{{Key: "*", Value: 4.0}}},
		}, []any{"hvc1", "mp4a", "Opus", "fLaC", "ac-3", "ec-3", ".mp3"}},
		{"capsEx only", amf.Object{{Key: "capsEx", Value: 2.0}}, all},
		{"nothing in common", amf.Object{{Key: "fourCcList", Value: []any{"vp08"}}}, []any{}},
		{"wrong types", amf.Object{{Key: "fourCcList", Value: "hvc1"}, {Key: "capsEx", Value: "x"}}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			caps := parseERTMPCaps(c.obj)
			r := caps.reply()
			if c.list == nil {
				if r != nil {
					t.Fatalf("reply %v to a legacy client", r)
				}
				return
			}
			list, _ := r.Get("fourCcList")
			if !reflect.DeepEqual(list, c.list) {
				t.Fatalf("fourCcList %v, want %v", list, c.list)
			}
			if v, _ := r.Get("capsEx"); v != serverCapsEx {
				t.Fatalf("capsEx %v", v)
			}
			vm, _ := r.GetObject("videoFourCcInfoMap")
			am, _ := r.GetObject("audioFourCcInfoMap")
			if len(vm)+len(am) != len(c.list) {
				t.Fatalf("maps %v %v for list %v", vm, am, c.list)
			}
			for _, p := range append(vm, am...) {
				if p.Value != ingestFourCCFlags {
					t.Fatalf("%s: flags %v", p.Key, p.Value)
				}
			}
		})
	}
}

// An E-RTMP publisher's connect gets the server's capabilities in the
// _result properties; a legacy one gets the classic reply only.
func TestERTMPConnect(t *testing.T) {
	ts := startServer(t, nil)
	c := dial(t, ts, rtmptest.Options{})
	r, err := c.Connect("live", amf.Object{
		{Key: "fourCcList", Value: []any{"hvc1", "av01", "Opus"}},
		{Key: "videoFourCcInfoMap", Value: amf.Object{{Key: "hvc1", Value: 2.0}, {Key: "av01", Value: 2.0}}},
		{Key: "audioFourCcInfoMap", Value: amf.Object{{Key: "Opus", Value: 2.0}}},
		{Key: "capsEx", Value: 15.0},
	})
	if err != nil {
		t.Fatal(err)
	}
	props, _ := r.Object.(amf.Object)
	if v, _ := props.GetString("fmsVer"); v != fmsVersion {
		t.Fatalf("properties %v", props)
	}
	if ex, _ := props.GetNumber("capsEx"); ex != capsExMultitrack|capsExModEx|capsExTimestampNanoOffset {
		t.Errorf("capsEx %v", ex)
	}
	vm, _ := props.GetObject("videoFourCcInfoMap")
	if f, _ := vm.GetNumber("hvc1"); f != fourCCCanDecode|fourCCCanForward || len(vm) != 2 {
		t.Errorf("videoFourCcInfoMap %v", vm)
	}
	am, _ := props.GetObject("audioFourCcInfoMap")
	if f, _ := am.GetNumber("Opus"); f != fourCCCanDecode|fourCCCanForward || len(am) != 1 {
		t.Errorf("audioFourCcInfoMap %v", am)
	}
	if r.Code() != CodeConnectSuccess {
		t.Errorf("info %v", r.Info())
	}

	legacy := dial(t, ts, rtmptest.Options{})
	r, err = legacy.Connect("live", nil)
	if err != nil {
		t.Fatal(err)
	}
	props, _ = r.Object.(amf.Object)
	if _, ok := props.Get("capsEx"); ok || len(props) != 3 {
		t.Errorf("legacy properties %v", props)
	}
}
