package handlers

import (
	"github.com/checkoff-app/checkoff/app"
	"github.com/checkoff-app/checkoff/webhook"
)

// Until cmd/checkoff calls All, webhook.Handlers reaches it through this.
func init() {
	webhook.RegisterHandlers(func(a any) []webhook.EventHandler { return All(a.(*app.App)) })
}
