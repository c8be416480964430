module github.com/example/kit/tools

go 1.22
