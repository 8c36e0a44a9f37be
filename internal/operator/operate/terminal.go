package operate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
)

// Confirm asks on a terminal before a bulk run of n targets; without a
// terminal to ask, it refuses and says that --yes is needed.
func Confirm(in io.Reader, out io.Writer, n int) error {
	if f, ok := in.(*os.File); !ok || !isatty.IsTerminal(f.Fd()) {
		return fmt.Errorf("%d targets: pass --yes to confirm (no terminal to ask), or --dry-run to list them", n)
	}
	fmt.Fprintf(out, "Reprocess %d workflows? [y/N] ", n)
	answer, _ := bufio.NewReader(in).ReadString('\n')
	if a := strings.ToLower(strings.TrimSpace(answer)); a != "y" && a != "yes" {
		return errors.New("not confirmed; nothing reprocessed")
	}
	return nil
}

// Progress draws a bar of the targets signalled on a terminal, and nothing
// elsewhere.
type Progress struct {
	out   io.Writer
	total int
	tty   bool
}

// NewProgress is the bar of total targets, drawn on out when it is a terminal.
func NewProgress(out io.Writer, total int) *Progress {
	f, ok := out.(*os.File)
	return &Progress{out: out, total: total, tty: ok && isatty.IsTerminal(f.Fd())}
}

// Step draws the bar with n targets done; it is Sender.Send's progress.
func (p *Progress) Step(n int) {
	if !p.tty {
		return
	}
	const width = 30
	filled := width * n / p.total
	fmt.Fprintf(p.out, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), n, p.total)
}

// Done ends the bar's line.
func (p *Progress) Done() {
	if p.tty {
		fmt.Fprintln(p.out)
	}
}
