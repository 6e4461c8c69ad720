package postgres

import (
	"io"
	"testing"
)

func TestTOCCounter(t *testing.T) {
	list := `;
; Archive created at 2024-05-01 10:00:00 UTC
;     dbname: argo
;
; Selected TOC Entries:
;
215; 1259 16385 TABLE public argo_workflows postgres
3350; 0 16385 TABLE DATA public argo_workflows postgres
3201; 2606 16391 CONSTRAINT public argo_workflows argo_workflows_pkey postgres
`
	// Written in awkward pieces: pipes deliver arbitrary chunks.
	for _, size := range []int{1, 3, 7, len(list)} {
		c := &tocCounter{}
		for s := list; s != ""; {
			n := min(size, len(s))
			if w, err := c.Write([]byte(s[:n])); w != n || err != nil {
				t.Fatalf("Write = %d, %v", w, err)
			}
			s = s[n:]
		}
		if c.entries != 3 {
			t.Errorf("chunks of %d: %d entries, want 3", size, c.entries)
		}
	}
}

func TestLenientKeepsTheStreamGoing(t *testing.T) {
	r, w := io.Pipe()
	r.Close()
	l := &lenient{w: w}
	for range 2 {
		if n, err := l.Write([]byte("abc")); n != 3 || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	if !l.dead {
		t.Error("the failed writer was not dropped")
	}
}
