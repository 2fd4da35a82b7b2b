package webhook

// Handlers returns the per-event handlers over app, an *app.App.
//
// Deprecated: use handlers.All. This shim keeps cmd/checkoff compiling
// while its wiring moves to the handlers package; the intake cannot name
// the App's type without importing it, hence the registration.
func Handlers(app any) []EventHandler {
	if newHandlers == nil {
		panic("webhook.Handlers: import github.com/checkoff-app/checkoff/handlers")
	}
	return newHandlers(app)
}

var newHandlers func(any) []EventHandler

// RegisterHandlers is called by package handlers' init, for Handlers.
//
// Deprecated: goes with Handlers.
func RegisterHandlers(f func(app any) []EventHandler) { newHandlers = f }
