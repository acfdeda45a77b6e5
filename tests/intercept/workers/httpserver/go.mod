module portsafe.test/httpserver

go 1.19
