package remux

// ColorInfo is E-RTMP's colorInfo video metadata (E-RTMP v2 "Metadata
// Frame"): colour configuration and HDR mastering/light level information
// that a container can carry (ISO BMFF colr, mdcv, clli boxes).
type ColorInfo struct {
	// BitDepth is colorConfig.bitDepth, 0 when not given.
	BitDepth int
	// ColorPrimaries, TransferCharacteristics and MatrixCoefficients are
	// ITU-T H.273 code points (colorConfig), -1 when not given.
	ColorPrimaries, TransferCharacteristics, MatrixCoefficients int
	// MaxFALL and MaxCLL are hdrCll's maximum frame-average and content
	// light levels in cd/m², 0 when not given.
	MaxFALL, MaxCLL float64
	// Mastering is hdrMdcv, nil when not given.
	Mastering *MasteringDisplay
}

// MasteringDisplay is the mastering display colour volume (SMPTE ST 2086):
// CIE 1931 xy chromaticities of the primaries and white point, and the
// luminance range in cd/m².
type MasteringDisplay struct {
	RedX, RedY, GreenX, GreenY, BlueX, BlueY float64
	WhitePointX, WhitePointY                 float64
	MaxLuminance, MinLuminance               float64
}

// Equal reports whether c and o carry the same information (nil for none).
func (c *ColorInfo) Equal(o *ColorInfo) bool {
	if c == nil || o == nil {
		return c == o
	}
	if c.BitDepth != o.BitDepth || c.ColorPrimaries != o.ColorPrimaries ||
		c.TransferCharacteristics != o.TransferCharacteristics || c.MatrixCoefficients != o.MatrixCoefficients ||
		c.MaxFALL != o.MaxFALL || c.MaxCLL != o.MaxCLL || (c.Mastering == nil) != (o.Mastering == nil) {
		return false
	}
	return c.Mastering == nil || *c.Mastering == *o.Mastering
}
