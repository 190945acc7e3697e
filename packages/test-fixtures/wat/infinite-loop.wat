;; Never returns and never calls the host: only instrumented metering can stop it.
(module
  (func (export "run") (loop $forever (br $forever)))
  (func (export "ok") (result i32) (i32.const 1)))
