// Command spectrum computes a band's transmittance from a spectroscopy
// line table, cached by the table's content: rewrite the table and the
// next run computes again; copy it elsewhere and the copy hits.
package main

//go:generate go run github.com/cachegen/cachegen/cmd/cachegen

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
)

// Transmittance returns the mean transmittance, over the band from lo to
// hi (in cm⁻¹), of a gas column of the given optical path (in cm) whose
// lines are listed in the table at tablePath: one line per row, its
// centre in cm⁻¹ and its strength. Lines are Lorentzian, of half width
// 0.07 cm⁻¹.
//
//cache:version=1 files=tablePath
func Transmittance(tablePath string, lo, hi, path float64) (float64, error) {
	lines, err := readTable(tablePath)
	if err != nil {
		return 0, err
	}
	const step, halfWidth = 0.0001, 0.07
	var sum float64
	n := 0
	for nu := lo; nu <= hi; nu += step {
		var k float64
		for _, l := range lines {
			d := nu - l.centre
			k += l.strength * halfWidth / math.Pi / (d*d + halfWidth*halfWidth)
		}
		sum += math.Exp(-k * path)
		n++
	}
	return sum / float64(n), nil
}

type line struct{ centre, strength float64 }

// readTable reads a line table: rows of centre and strength, with blank
// lines and # comments.
func readTable(name string) ([]line, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []line
	sc := bufio.NewScanner(f)
	for row := 1; sc.Scan(); row++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: want a centre and a strength, got %q", name, row, text)
		}
		c, err1 := strconv.ParseFloat(fields[0], 64)
		s, err2 := strconv.ParseFloat(fields[1], 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%s:%d: not two numbers: %q", name, row, text)
		}
		lines = append(lines, line{c, s})
	}
	return lines, sc.Err()
}
