module github.com/example/kit

go 1.22
