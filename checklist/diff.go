package checklist

// Diff lists the boxes of cfg's checklists (a body checklist's too) whose checked state, or whose
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
	cls := withDefaultsAll(cfg.Checklists)
	rule := markerRuleOf(cfg)
	var before []owned
	if old != nil {
		before = assign(old, cls)
	}
	after := assign(new, cls)
	var changes []Change
	for i, cl := range cls {
		type state struct{ checked, optional bool }
		was := map[string]state{}
		if before != nil {
			boxes, _ := sectionBoxes(before[i].items, cl, rule)
			for _, b := range boxes {
				was[b.key] = state{b.Checked, b.optional}
			}
		}
		boxes, _ := sectionBoxes(after[i].items, cl, rule)
		for _, b := range boxes {
			prev, existed := was[b.key]
			if (existed && prev.checked != b.Checked) || (!existed && b.Checked) {
				changes = append(changes, Change{Checklist: cl.Name, Key: b.key, Text: b.Text, Checked: b.Checked})
			}
			// Making an item optional is a change like a tick: who made it
			// decides whether it counts.
			if (existed && prev.optional != b.optional) || (!existed && b.optional) {
				changes = append(changes, Change{Checklist: cl.Name, Key: b.key, Text: b.Text, Checked: b.optional, Waiver: true})
			}
		}
	}
	return changes
}
