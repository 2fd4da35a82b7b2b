package checklist

// Diff lists the boxes of cfg's checklists whose checked state, or whose
// optional state (a Waiver change), differs between old and new, matched by
// item key: for the ledger, which records who made each change. A box first
// seen in new counts as a change when it is checked (or optional); a box
// gone from new is not a change. With old nil (a pull
// request just opened) every checked box of new is a change. Changes come in
// configuration order, then new's document order. A nil cfg means
// DefaultConfig.
func Diff(old, new *Document, cfg *Config) []Change {
	if new == nil {
		return nil
	}
	if cfg == nil {
		cfg = DefaultConfig()
	}
	var changes []Change
	for _, cl := range cfg.Checklists {
		cl = withDefaults(cl)
		type state struct{ checked, optional bool }
		before := map[string]state{}
		if old != nil {
			boxes, _, _ := sectionBoxes(old, cl, cfg.OptionalMarkers)
			for _, b := range boxes {
				before[b.key] = state{b.Checked, b.optional}
			}
		}
		boxes, _, _ := sectionBoxes(new, cl, cfg.OptionalMarkers)
		for _, b := range boxes {
			was, existed := before[b.key]
			if (existed && was.checked != b.Checked) || (!existed && b.Checked) {
				changes = append(changes, Change{Checklist: cl.Name, Key: b.key, Text: b.Text, Checked: b.Checked})
			}
			// Making an item optional is a change like a tick: who made it
			// decides whether it counts.
			if (existed && was.optional != b.optional) || (!existed && b.optional) {
				changes = append(changes, Change{Checklist: cl.Name, Key: b.key, Text: b.Text, Checked: b.optional, Waiver: true})
			}
		}
	}
	return changes
}
