module example.invalid/keytool/bindings/go

go 1.19
