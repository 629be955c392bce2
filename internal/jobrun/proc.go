package jobrun

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// StartTicks returns the start time of process pid in clock ticks since boot.
func StartTicks(pid int) (uint64, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The second field is the command name in parentheses and may hold spaces, so fields are
	// counted from the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, fmt.Errorf("unexpected /proc/%d/stat", pid)
	}
	return strconv.ParseUint(fields[19], 10, 64)
}

// Alive reports whether p still names the same running process.
func (p Process) Alive() bool {
	if p.PID <= 0 {
		return false
	}
	ticks, err := StartTicks(p.PID)
	return err == nil && ticks == p.StartTicks
}
