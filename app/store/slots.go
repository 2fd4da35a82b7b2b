package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// The slotted partition file. A partition holding a durable record is
// stored as a fixed header and two slots of equal size, each able to hold
// one version of the partition:
//
//	header  "checkoff-slots\x00\x02" (16 bytes, written once, with the file)
//	slot 0  "SLOT", sequence (uint64), length (uint32), CRC-32C of
//	        sequence, length and payload (uint32), payload (the partition's
//	        JSON), then whatever an older, longer version left
//	slot 1  the same
//
// An update writes the slot not holding the newest version, in place, and
// then fdatasyncs the file. Its blocks were all written when it was
// created, so nothing but data changes and the filesystem has no journal
// transaction to commit: one data flush, where a new file costs an fsync, a
// rename and a directory fsync, and the journal commit that carries them
// (and every other file created since). A write torn by a power cut fails
// its checksum, and the other slot, the last version acknowledged, is read.
// A partition that outgrows its slots is written to a new file with larger
// ones. Readers take no lock: the slot being written may read as torn, and
// then the partition is read again under the writers' lock (File.readStable).
//
// Partitions holding only expiring records are not flushed, so they are
// kept as plain JSON files (format 1), the size of their content.
const (
	slotFileMagic = "checkoff-slots\x00\x02"
	slotFileHead  = len(slotFileMagic)
	slotMagic     = "SLOT"
	slotHeaderLen = 4 + 8 + 4 + 4
	minSlotSize   = 4 << 10
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// slotLayout is where a partition file keeps its newest version.
type slotLayout struct {
	size   int64  // of each slot; 0 for a format 1 (plain JSON) file
	active int    // the slot holding the newest version
	seq    uint64 // its sequence number
	// torn: a slot looked like a version but failed its checksum, as the
	// slot a writer is writing does to a reader that takes no lock.
	torn bool
}

// offset is where slot i starts in the file.
func (l slotLayout) offset(i int) int64 { return int64(slotFileHead) + int64(i)*l.size }

// decodeFile reads a partition file of either format.
func decodeFile(b []byte) (*partition, slotLayout, error) {
	if !bytes.HasPrefix(b, []byte(slotFileMagic)) {
		p, err := decodePartition(b)
		return p, slotLayout{}, err
	}
	if len(b) < slotFileHead {
		return nil, slotLayout{}, errors.New("slotted file of a wrong size")
	}
	body := b[slotFileHead:]
	if len(body) < 2*minSlotSize || len(body)%2 != 0 {
		return nil, slotLayout{}, errors.New("slotted file of a wrong size")
	}
	l := slotLayout{size: int64(len(body) / 2), active: -1}
	var payload []byte
	for i := range 2 {
		s := body[int64(i)*l.size : int64(i+1)*l.size]
		seq, p, ok := decodeSlot(s)
		if ok && (l.active < 0 || seq > l.seq) {
			l.active, l.seq, payload = i, seq, p
		}
		l.torn = l.torn || (!ok && string(s[:4]) == slotMagic)
	}
	if l.active < 0 {
		return nil, slotLayout{}, errors.New("no slot holds a whole version")
	}
	p, err := decodePartition(payload)
	return p, l, err
}

// decodeSlot returns the version a slot holds, if it is whole.
func decodeSlot(s []byte) (seq uint64, payload []byte, ok bool) {
	if len(s) < slotHeaderLen || string(s[:4]) != slotMagic {
		return 0, nil, false
	}
	seq = binary.LittleEndian.Uint64(s[4:12])
	n := binary.LittleEndian.Uint32(s[12:16])
	if int64(n) > int64(len(s)-slotHeaderLen) {
		return 0, nil, false
	}
	payload = s[slotHeaderLen : slotHeaderLen+int(n)]
	sum := crc32.Update(crc32.Checksum(s[4:16], castagnoli), castagnoli, payload)
	return seq, payload, sum == binary.LittleEndian.Uint32(s[16:20])
}

// encodeSlot is the slot content holding payload as version seq.
func encodeSlot(seq uint64, payload []byte) []byte {
	s := make([]byte, slotHeaderLen+len(payload))
	copy(s, slotMagic)
	binary.LittleEndian.PutUint64(s[4:12], seq)
	binary.LittleEndian.PutUint32(s[12:16], uint32(len(payload)))
	copy(s[slotHeaderLen:], payload)
	sum := crc32.Update(crc32.Checksum(s[4:16], castagnoli), castagnoli, payload)
	binary.LittleEndian.PutUint32(s[16:20], sum)
	return s
}

// newSlotFile is a slotted file holding payload as version seq in slot 0,
// with slots twice its size or more, so it can grow in place for a while.
func newSlotFile(seq uint64, payload []byte) []byte {
	size := minSlotSize
	for size < 2*(slotHeaderLen+len(payload)) {
		size *= 2
	}
	b := make([]byte, slotFileHead+2*size)
	copy(b, slotFileMagic)
	copy(b[slotFileHead:], encodeSlot(seq, payload))
	return b
}
