// Command posagent is the checkout-terminal agent: it reads Alipay payment
// codes from a barcode scanner, decodes them through the Alipay gateway,
// issues the merchant's coupons and shows it all on a terminal UI.
//
// It wires packages together and holds no logic of its own.
package main

import (
	"fmt"
	"os"
)

const usage = `usage: posagent <command> [flags]

commands:
  demo [--headless]               the whole product on a fake gateway and a simulated scanner
  run --config FILE [--headless]  the product on a real configuration
  scanners                        list the scanners this PC can see
  queue [--data DIR]              list pending and dead jobs of the retry queue
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	fmt.Fprintf(os.Stderr, "posagent: %q is not available in this build\n\n%s", os.Args[1], usage)
	os.Exit(2)
}
