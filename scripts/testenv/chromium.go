package testenv

import "github.com/chromedp/chromedp"

// Chromium is where Debian's chromium package puts the browser.
const Chromium = "/usr/bin/chromium"

// ChromiumOptions are the flags every browser test starts Chromium with:
// headless, nothing fetched on its own, the box's self-signed
// certificate accepted (tests check its fingerprint where it matters),
// and profile as a fresh user data directory.
func ChromiumOptions(profile string) []chromedp.ExecAllocatorOption {
	return []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(Chromium),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("ignore-certificate-errors", true),
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1100, 900),
	}
}
