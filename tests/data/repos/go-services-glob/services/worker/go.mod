module example.com/shop/services/worker

go 1.23
