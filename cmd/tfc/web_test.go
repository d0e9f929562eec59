package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// chromium finds Debian's chromium (make deps installs it).
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("SKIPPED: chromium is not installed (make deps installs Debian's chromium)")
	return ""
}

// needV86 skips without v86 (make deps: npm install in web/) or the BIOS.
func needV86(t *testing.T) {
	if findV86() == "" {
		t.Skip("SKIPPED: v86 is not installed (make deps runs npm install in web/)")
	}
	if _, err := os.Stat(defaultBIOS); err != nil {
		t.Skip("SKIPPED: Debian's seabios is not installed (make deps)")
	}
}

// tfc web's page boots the image in v86 in a real browser (chromium,
// headless): COM1 equals tfc sim's story byte for byte, the story is on
// the emulated screen, and the image exits with 0. The segmented image
// runs in real mode; --memory flat makes the same model run in unreal
// mode (32-bit addresses through the segment limits the loader sets).
// Keys typed on the page reach COM1.
func TestWebPageInBrowser(t *testing.T) {
	needV86(t)
	browser := chromium(t)
	const steps = "24"
	sim := tfc(t, "sim", "--steps", steps, "../../examples/gelu-random.tf")
	require.NotEmpty(t, sim)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	bctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	require.NoError(t, chromedp.Do(bctx), "starting chromium")

	for _, memory := range []string{"segmented", "flat"} {
		t.Run(memory, func(t *testing.T) {
			site := filepath.Join(t.TempDir(), "site")
			code, _, stderr := runCLI("web", "--memory", memory, "--steps", steps, "../../examples/gelu-random.tf", "-o", site)
			require.Equal(t, 0, code, stderr)
			srv := httptest.NewServer(http.FileServer(http.Dir(site)))
			defer srv.Close()

			ctx, cancel := chromedp.NewContext(bctx)
			defer cancel()
			ctx, cancel = context.WithTimeout(ctx, 60*time.Second)
			defer cancel()
			start := time.Now()
			require.NoError(t, chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/index.html")))
			_, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.tfc && window.tfc.done`, chromedp.WithPollingInterval(100*time.Millisecond)))
			serial, serr := chromedp.Run(context.WithoutCancel(ctx), chromedp.Evaluate[string](`window.tfc ? window.tfc.serial : ""`))
			require.NoError(t, err, "the page did not finish; COM1 so far %q (%v)", serial, serr)
			exit, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.tfc.exitCode`))
			require.NoError(t, err)
			screen, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.tfc.screenText()`))
			require.NoError(t, err)
			t.Logf("%s: the story in %v", memory, time.Since(start).Round(time.Millisecond))
			assert.Equal(t, sim, serial, "COM1 in the browser against tfc sim")
			assert.Equal(t, 0, exit)
			first := strings.TrimSpace(strings.SplitN(strings.ReplaceAll(sim, "\r", ""), "\n", 2)[0])
			assert.Contains(t, screen, first[:min(len(first), 60)], "the story on the screen:\n%s", screen)
			// Keys typed on the page go to COM1 (and to the keyboard).
			require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent("Hi\r")))
			sent, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.tfc.sent`))
			require.NoError(t, err)
			assert.Equal(t, "Hi\r", sent)
		})
	}
}
